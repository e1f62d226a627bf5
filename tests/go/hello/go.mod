module ukern.test/hello

go 1.19
