// The smallest Go program: what its start-up costs (the runtime's threads, signal
// handlers, heap and scheduler) is what the benchmark measures.
package main

import "fmt"

func main() {
	fmt.Println("hello from Go")
}
