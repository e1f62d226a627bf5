/* Read and access watchpoints under gdb (tests/test_rwatch.py).  `rwatch watched` must stop
 * after each line that reads `watched` and at nothing else: not at its write, not at the
 * kernel's read() into it, not at the accesses to `neighbour`, which shares its page (as
 * does much of the C library's state).  A child forked first leaves that page
 * copy-on-write, so the first write to it is also the kernel's fault.  Run alone, it checks
 * its own results, and says how many page faults it took: a debugger's watchpoint must
 * not change any of it. */
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include "check.h"

volatile int watched = 5;          /* `rwatch watched`, `awatch watched`, `watch watched` */
volatile int neighbour = 7;        /* in the same page: its accesses never stop */
volatile int sink;

int main(void)
{
    int fds[2], answer = 42, waited;
    struct rusage before, after;
    pid_t child;
    begin("watchreads");
    check_eq("pipe", 0, pipe(fds));
    check_eq("write", 4, write(fds[1], &answer, sizeof answer));
    getrusage(RUSAGE_SELF, &before);
    if ((child = fork()) == 0)
        _exit(0);
    waited = waitpid(child, NULL, 0);                      /* (the data pages are copy-on-write) */
    sink = neighbour * 3 + 1;                              /* a neighbour's read */
    sink = watched * 3 + 1;                                /* read 1 */
    neighbour = sink;                                      /* a neighbour's write */
    sink = watched * 5 + 2;                                /* read 2 */
    watched = 6;                                           /* a write */
    sink = watched * 7 + 3;                                /* read 3 */
    read(fds[0], (void *)&watched, sizeof watched);        /* the kernel writes it */
    sink = watched * 9 + 4;                                /* read 4 */
    getrusage(RUSAGE_SELF, &after);
    check_eq("the child", child, waited);
    check_eq("neighbour", 16, neighbour);
    check_eq("sink", 42 * 9 + 4, sink);
    msg("page faults between the two getrusage calls: %ld", after.ru_minflt - before.ru_minflt);
    end();
}
