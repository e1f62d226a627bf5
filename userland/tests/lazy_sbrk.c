/* Lab lazy: the program break grows without memory behind it, and each page appears when
 * it is first touched.  A break 1 GiB above the start (sixteen times the machine's memory)
 * is touched at 16 places; the kernel's own copies (read() from a pipe) fill a page never
 * touched; shrinking the break and growing it again gives zeroed pages; a child of fork
 * sees the parent's heap; a touch above the break is a SIGSEGV. */
#include "check.h"
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define HUGE (1L << 30)
#define STEP (64L << 20)

static char *brk_to(char *addr) { return (char *)syscall(SYS_brk, addr); }

int main(void)
{
    begin("lazy_sbrk");
    char *start = brk_to(0);
    check("the break grows by 1 GiB", brk_to(start + HUGE) == start + HUGE);
    volatile char *heap = start;
    long wrong = 0;
    for (long off = 0; off < HUGE; off += STEP)
        heap[off + 123] = (char)(off / STEP + 1);
    for (long off = 0; off < HUGE; off += STEP)
        wrong += heap[off + 123] != (char)(off / STEP + 1);
    check_eq("bytes wrong in the 16 touched pages", 0, wrong);
    check_eq("an untouched page of the heap reads zero", 0, heap[HUGE - 1]);

    int fds[2];
    check("pipe", pipe(fds) == 0);
    check_eq("write 5 bytes into the pipe", 5, write(fds[1], "lazy!", 5));
    char *untouched = start + HUGE - 3 * 4096 + 100;
    check_eq("read() into a heap page nobody touched", 5, read(fds[0], untouched, 5));
    check("the kernel's copy landed", memcmp(untouched, "lazy!", 5) == 0);

    pid_t child = fork();
    if (child == 0) {
        heap[STEP + 5] = 'c';                   /* the child's own copy of a parent page */
        _exit(heap[123] == 1 && heap[STEP + 123] == 2 ? 0 : 1);
    }
    int status;
    check("wait for the child", waitpid(child, &status, 0) == child);
    check_eq("the child read the parent's heap (exit status)", 0, WEXITSTATUS(status));
    check_eq("the parent's page is unchanged by the child", 0, heap[STEP + 5]);

    heap[8192 + 123] = 'x';                     /* a page the shrink below gives back */
    check("the break shrinks to 8 KiB", brk_to(start + 8192) == start + 8192);
    check("the break grows again to 1 MiB", brk_to(start + (1 << 20)) == start + (1 << 20));
    check_eq("a page dropped by the shrink reads zero again", 0, heap[8192 + 123]);
    check_eq("a page kept by the shrink keeps its byte", 1, heap[123]);

    child = fork();
    if (child == 0) {
        heap[(1 << 20) + 4096] = 1;            /* above the break: no page may appear */
        _exit(0);
    }
    check("wait for the child that touches above the break", waitpid(child, &status, 0) == child);
    check("it was killed by SIGSEGV", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    check("brk back to the start", brk_to(start) == start);
    end();
}
