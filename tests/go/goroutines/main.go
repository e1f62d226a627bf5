// A Go program for ukern's real-program tests: goroutines on several threads, channels,
// a mutex, the garbage collector, timers, and a tight loop the runtime must preempt with a
// signal.  It prints only what is the same on every run, natively or under ukern.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func worker(id int, jobs <-chan int, results chan<- [2]int) {
	for n := range jobs {
		sum := 0
		for i := 1; i <= n; i++ {
			sum += i * i
		}
		results <- [2]int{n, sum}
	}
}

// spin never calls a function: only an asynchronous preemption (SIGURG) can stop it.
func spin(stop *int32, out chan<- int) {
	n := 0
	for atomic.LoadInt32(stop) == 0 {
		n++
	}
	out <- 1
}

func main() {
	runtime.GOMAXPROCS(2)
	fmt.Println("begin")

	jobs, results := make(chan int, 16), make(chan [2]int, 16)
	for w := 0; w < 4; w++ {
		go worker(w, jobs, results)
	}
	for n := 1000; n <= 1015; n++ {
		jobs <- n
	}
	close(jobs)
	var got [][2]int
	for i := 0; i < 16; i++ {
		got = append(got, <-results)
	}
	sort.Slice(got, func(a, b int) bool { return got[a][0] < got[b][0] })
	fmt.Println("squares:", got[0], got[15])

	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				total++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println("mutex total:", total)

	keep := make([][]byte, 0)
	for i := 0; i < 200; i++ {
		b := make([]byte, 64<<10)
		b[0] = byte(i)
		if i%50 == 0 {
			keep = append(keep, b)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Println("gc ran:", ms.NumGC > 0, "kept:", len(keep))

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept at least 20ms:", time.Since(start) >= 20*time.Millisecond)

	var stop int32
	done := make(chan int)
	go spin(&stop, done)
	time.Sleep(5 * time.Millisecond)
	atomic.StoreInt32(&stop, 1)
	<-done
	fmt.Println("preempted spinner stopped")

	host, _ := os.Hostname()
	fmt.Println("hostname known:", host != "")
	fmt.Println("end")
}
