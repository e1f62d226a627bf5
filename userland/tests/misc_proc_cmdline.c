/* /proc/self/cmdline holds every argument, each ended by a NUL; /proc/self/status and the
 * machine files say what Linux's say. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>

static int slurp(const char *path, char *buf, int size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        fail("open %s", path);
    int n = 0, r;
    while ((r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    close(fd);
    return n;
}

int main(int argc, char **argv)
{
    begin("misc_proc_cmdline");
    char buf[8192];
    int n = slurp("/proc/self/cmdline", buf, sizeof buf);
    int expect = 0;
    for (int i = 0; i < argc; i++)
        expect += strlen(argv[i]) + 1;
    check_eq("cmdline length: every argument and its NUL", expect, n);
    char *at = buf;
    for (int i = 0; i < argc; i++) {
        if (strcmp(at, argv[i]) != 0)
            fail("argument %d: expected %s, got %s", i, argv[i], at);
        at += strlen(at) + 1;
    }
    check_eq("three arguments after the program", 4, argc);
    slurp("/proc/self/status", buf, sizeof buf);
    char want[64];
    snprintf(want, sizeof want, "\nPid:\t%d\n", getpid());
    check("status: Pid", strstr(buf, want) != NULL);
    check("status: State R (running)", strstr(buf, "\nState:\tR (running)\n") != NULL);
    check("status: Uid", strstr(buf, "\nUid:\t0\t0\t0\t0\n") != NULL);
    check("status: VmRSS in kB", strstr(buf, "\nVmRSS:\t") != NULL && strstr(buf, " kB\n") != NULL);
    check("status: Threads", strstr(buf, "\nThreads:\t1\n") != NULL);
    check("status: SigBlk", strstr(buf, "\nSigBlk:\t0000000000000000\n") != NULL);
    slurp("/proc/meminfo", buf, sizeof buf);
    check("meminfo: MemTotal first, Linux's layout", strncmp(buf, "MemTotal:       ", 16) == 0);
    check("meminfo: MemAvailable, SwapTotal", strstr(buf, "\nMemAvailable:") && strstr(buf, "\nSwapTotal:"));
    slurp("/proc/uptime", buf, sizeof buf);
    double up, idle;
    check_eq("uptime: two numbers", 2, sscanf(buf, "%lf %lf", &up, &idle));
    slurp("/proc/loadavg", buf, sizeof buf);
    int running, total;
    check_eq("loadavg: five fields", 2, sscanf(buf, "%*f %*f %*f %d/%d", &running, &total));
    slurp("/proc/stat", buf, sizeof buf);
    check("stat: cpu line and btime", strncmp(buf, "cpu  ", 5) == 0 && strstr(buf, "\nbtime "));
    slurp("/proc/version", buf, sizeof buf);
    check("version", strncmp(buf, "Linux version ", 14) == 0);
    slurp("/proc/cpuinfo", buf, sizeof buf);
    check("cpuinfo: processor 0", strncmp(buf, "processor\t: 0\n", 14) == 0);
    slurp("/proc/sys/kernel/pid_max", buf, sizeof buf);
    check("pid_max", atoi(buf) > 1000);
    end();
}
