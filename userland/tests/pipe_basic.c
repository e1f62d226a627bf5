/* Pipes: a child writes, the parent reads, and read returns 0 (end of file) once the
 * writer has closed its end; 256 KiB (more than a pipe holds) gets through intact, the
 * writer waiting for the reader.  Writing with no reader left fails with EPIPE when
 * SIGPIPE is ignored, and kills the writer with SIGPIPE by default. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#define BIG (256 * 1024)

static unsigned char byte_at(long i) { return (unsigned char)(i * 31 + (i >> 10)); }

static int wait_for(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        fail("waitpid did not return the child");
    return st;
}

int main(void)
{
    begin("pipe_basic");
    int p[2];
    check_eq("pipe", 0, pipe(p));
    pid_t pid = fork();
    if (pid == 0) {                             /* child: the writer */
        close(p[0]);
        static const char hello[] = "hello through a pipe";
        write(p[1], hello, sizeof hello - 1);
        close(p[1]);
        _exit(0);
    }
    close(p[1]);                                /* or the parent would never see EOF */
    char buf[64] = "";
    long got = 0, n;
    while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += n;
    check_eq("bytes read before end of file", 20, got);
    check("they are what the child wrote", memcmp(buf, "hello through a pipe", 20) == 0);
    check_eq("read at end of file returns 0", 0, n);
    close(p[0]);
    check_eq("child exit status", 0, WEXITSTATUS(wait_for(pid)));

    /* 256 KiB in one write: the writer blocks until the reader has made room. */
    check_eq("pipe", 0, pipe(p));
    pid = fork();
    if (pid == 0) {
        static unsigned char big[BIG];
        close(p[0]);
        for (long i = 0; i < BIG; i++)
            big[i] = byte_at(i);
        _exit(write(p[1], big, BIG) == BIG ? 0 : 1);
    }
    close(p[1]);
    long total = 0, bad = 0;
    unsigned char chunk[4096];
    while ((n = read(p[0], chunk, sizeof chunk)) > 0) {
        for (long i = 0; i < n; i++)
            bad += chunk[i] != byte_at(total + i);
        total += n;
    }
    close(p[0]);
    check_eq("bytes through the pipe", BIG, total);
    check_eq("bytes that differ", 0, bad);
    check_eq("the big write returned its full size (child exit 0)", 0, WEXITSTATUS(wait_for(pid)));

    /* No reader, SIGPIPE at its default: the writer dies of SIGPIPE. */
    pid = fork();
    if (pid == 0) {
        int q[2];
        pipe(q);
        close(q[0]);
        write(q[1], "x", 1);
        _exit(0);                               /* not reached */
    }
    int st = wait_for(pid);
    check("writer with no reader was killed by a signal", WIFSIGNALED(st));
    check_eq("the signal is SIGPIPE", SIGPIPE, WTERMSIG(st));

    /* No reader, SIGPIPE ignored: write fails with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    check_eq("pipe", 0, pipe(p));
    close(p[0]);
    errno = 0;
    check_eq("write with no reader returns -1", -1, write(p[1], "x", 1));
    check_eq("errno is EPIPE", EPIPE, errno);
    close(p[1]);
    end();
}
