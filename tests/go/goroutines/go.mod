module ukern.test/goroutines

go 1.19
