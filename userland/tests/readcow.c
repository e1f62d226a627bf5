/* read() into memory shared copy-on-write after fork: the reader gets the file's bytes in
 * its own copy, and the other process keeps what it had.  Also a read that spans a page
 * that was never touched, one that is present, and the end of a buffer.
 * Usage: readcow FILE (FILE holds at least 64 KiB; byte i is (i / 4096 * 7 + i) & 0xFF). */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define SIZE (64 * 1024)

static unsigned char buf[SIZE];

static unsigned char expected(long i) { return (unsigned char)(i / 4096 * 7 + i); }

static long mismatches(void)
{
    long bad = 0;
    for (long i = 0; i < SIZE; i++)
        bad += buf[i] != expected(i);
    return bad;
}

int main(int argc, char **argv)
{
    begin("readcow");
    if (argc < 2)
        fail("usage: readcow FILE");
    for (long i = 0; i < SIZE; i += 2 * 4096)      /* every other page present, the rest fresh */
        buf[i] = 'A';
    pid_t child = fork();
    if (child == 0) {
        int fd = open(argv[1], O_RDONLY);
        long n = read(fd, buf, SIZE);
        if (n != SIZE || mismatches())
            _exit(1);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("the child read the file into its copy (exit status)", 0, WEXITSTATUS(status));
    long untouched = 0;
    for (long i = 0; i < SIZE; i++)
        untouched += buf[i] == ((i % (2 * 4096)) == 0 ? 'A' : 0);
    check_eq("the parent's bytes after the child's read", SIZE, untouched);
    int fd = open(argv[1], O_RDONLY);
    check_eq("the parent's own read", SIZE, read(fd, buf, SIZE));
    check_eq("bytes that differ from the file", 0, mismatches());
    check_eq("a read ending at the buffer's end", 100, pread(fd, buf + SIZE - 100, 100, 4096));
    check_eq("its last byte", expected(4096 + 99), buf[SIZE - 1]);
    end();
}
