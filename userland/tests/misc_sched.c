/* One CPU, node 0: getcpu, sched_getaffinity (whose raw call returns the mask's size, as
 * Linux's does), sched_setaffinity, priorities, the scheduler policy, uname. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void)
{
    begin("misc_sched");
    unsigned cpu = 99, node = 99;
    check_eq("getcpu", 0, syscall(SYS_getcpu, &cpu, &node, NULL));
    check("cpu 0, node 0", cpu == 0 && node == 0);
    unsigned long mask[4] = {~0UL, ~0UL, ~0UL, ~0UL};
    check_eq("raw sched_getaffinity returns the mask size", 8, syscall(SYS_sched_getaffinity, 0, sizeof mask, mask));
    check_eq("CPU 0 only", 1, mask[0]);
    errno = 0;
    check_eq("a size not a multiple of 8", -1, syscall(SYS_sched_getaffinity, 0, 4, mask));
    check_eq("... EINVAL", EINVAL, errno);
    cpu_set_t set;
    CPU_ZERO(&set);
    check_eq("sched_getaffinity (libc)", 0, sched_getaffinity(0, sizeof set, &set));
    check_eq("one CPU", 1, CPU_COUNT(&set));
    check_eq("sched_setaffinity to CPU 0", 0, sched_setaffinity(0, sizeof set, &set));
    CPU_ZERO(&set);
    CPU_SET(5, &set);
    errno = 0;
    check_eq("to a CPU that does not exist", -1, sched_setaffinity(0, sizeof set, &set));
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check_eq("of a pid that does not exist", -1, sched_getaffinity(4242, sizeof set, &set));
    check_eq("... ESRCH", ESRCH, errno);
    check_eq("getpriority is nice 0", 0, getpriority(PRIO_PROCESS, 0));
    check_eq("setpriority 5", 0, setpriority(PRIO_PROCESS, 0, 5));
    check_eq("getpriority reads it", 5, getpriority(PRIO_PROCESS, 0));
    check_eq("nice(2) adds", 7, nice(2));
    /* (musl's wrappers say ENOSYS without asking: the raw calls) */
    check_eq("sched_getscheduler: SCHED_OTHER", SCHED_OTHER, syscall(SYS_sched_getscheduler, 0));
    struct sched_param sp = {42};
    check_eq("sched_getparam", 0, syscall(SYS_sched_getparam, 0, &sp));
    check_eq("priority 0", 0, sp.sched_priority);
    check_eq("sched_yield", 0, sched_yield());
    struct utsname u;
    check_eq("uname", 0, uname(&u));
    check("Linux on x86_64", strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0);
    end();
}
