/* O_NONBLOCK on pipes: pipe2(O_NONBLOCK) read of an empty pipe fails with EAGAIN; writes
 * fill the pipe until EAGAIN (the whole 64 KiB fits first); FIONREAD says how many bytes
 * wait; fcntl F_SETFL turns O_NONBLOCK off (a read then waits for a child's write) and
 * on again; F_GETFL shows it. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

int main(void)
{
    begin("nonblock_pipe");
    int p[2];
    check_eq("pipe2(O_NONBLOCK)", 0, pipe2(p, O_NONBLOCK));
    check("F_GETFL has O_NONBLOCK", fcntl(p[0], F_GETFL) & O_NONBLOCK);
    char buf[4096];
    errno = 0;
    check_eq("read of an empty pipe", -1, read(p[0], buf, sizeof buf));
    check_eq("errno is EAGAIN", EAGAIN, errno);

    static char chunk[1000];
    long total = 0, n;
    while ((n = write(p[1], chunk, sizeof chunk)) > 0)
        total += n;
    check_eq("write to a full pipe", -1, n);
    check_eq("errno is EAGAIN", EAGAIN, errno);
    check("at least 64 KiB went in first", total >= 65536 - (long)sizeof chunk);
    int avail = -1;
    check_eq("FIONREAD", 0, ioctl(p[0], FIONREAD, &avail));
    check_eq("bytes available", total, avail);
    while (read(p[0], buf, sizeof buf) > 0)
        ;
    check_eq("FIONREAD after draining", 0, ioctl(p[0], FIONREAD, &avail));
    check_eq("bytes available", 0, avail);

    check_eq("F_SETFL without O_NONBLOCK", 0, fcntl(p[0], F_SETFL, 0));
    check_eq("F_GETFL", O_RDONLY, fcntl(p[0], F_GETFL));
    pid_t pid = fork();
    if (pid == 0) {
        usleep(10000);
        write(p[1], "late", 4);
        _exit(0);
    }
    check_eq("a blocking read waits for the child", 4, read(p[0], buf, sizeof buf));
    waitpid(pid, NULL, 0);
    check_eq("F_SETFL O_NONBLOCK", 0, fcntl(p[0], F_SETFL, O_NONBLOCK));
    errno = 0;
    check_eq("read is non-blocking again", -1, read(p[0], buf, sizeof buf));
    check_eq("errno is EAGAIN", EAGAIN, errno);
    close(p[1]);
    check_eq("with no writer: end of file, not EAGAIN", 0, read(p[0], buf, sizeof buf));
    end();
}
