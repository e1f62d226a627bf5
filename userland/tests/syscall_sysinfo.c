/* labs/syscall: sysinfo reports free frames and processes, and refuses bad pointers. */
#include "check.h"
#include "ukern.h"
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOUCH (1024 * 1024)

int main(void)
{
    begin("syscall_sysinfo");
    struct ukern_sysinfo a, b, c;
    check_eq("sysinfo returns 0", 0, ukern_sysinfo(&a));
    check("there are free frames, fewer than in all", a.free_frames > 0 && a.free_frames < a.total_frames);
    check_eq("one process", 1, a.nproc);

    volatile char *mem = malloc(TOUCH);
    for (int i = 0; i < TOUCH; i += 4096)
        mem[i] = 1;
    check_eq("sysinfo after touching 1 MiB", 0, ukern_sysinfo(&b));
    check("touching 256 pages uses at least 256 frames", a.free_frames >= b.free_frames + 256);
    check("... and not wildly more than that", a.free_frames <= b.free_frames + 256 + 16);
    free((void *)mem);
    check_eq("sysinfo after free", 0, ukern_sysinfo(&c));
    check("free gives the frames back", c.free_frames >= b.free_frames + 256);

    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    check_eq("sysinfo after fork", 0, ukern_sysinfo(&b));
    check_eq("two processes (the child, maybe a zombie)", 2, b.nproc);
    int st;
    check("waitpid returns the child", waitpid(pid, &st, 0) == pid);
    check_eq("sysinfo after waitpid", 0, ukern_sysinfo(&b));
    check_eq("one process again", 1, b.nproc);

    errno = 0;
    check_eq("sysinfo(bad pointer) fails", -1, ukern_sysinfo((struct ukern_sysinfo *)16));
    check_eq("... with EFAULT", EFAULT, errno);
    end();
}
