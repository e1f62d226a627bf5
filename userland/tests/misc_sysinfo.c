/* sysinfo: memory from the frame allocator, uptime from the virtual clock, processes. */
#include "check.h"
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    begin("misc_sysinfo");
    struct sysinfo a, b;
    check_eq("sysinfo", 0, sysinfo(&a));
    check_eq("mem_unit is a page", 4096, a.mem_unit);
    check("64 MiB of RAM, most of it free", a.totalram * a.mem_unit <= (64 << 20) &&
          a.totalram * a.mem_unit > (32 << 20) && a.freeram < a.totalram && a.freeram > a.totalram / 2);
    check_eq("one process", 1, a.procs);
    struct timespec two = {2, 0};
    nanosleep(&two, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    check_eq("sysinfo again", 0, sysinfo(&b));
    check("uptime went on by the 2 s slept", b.uptime >= a.uptime + 2);
    check_eq("two processes", 2, b.procs);
    kill(pid, 9);
    waitpid(pid, NULL, 0);
    end();
}
