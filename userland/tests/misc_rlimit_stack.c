/* RLIMIT_STACK: the stack grows on demand up to the soft limit and no further; a child
 * that recurses past a 256 KiB limit is killed by SIGSEGV, one that stays within lives. */
#include "check.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* 4 KiB of stack a level, every byte written (the empty asm makes the compiler keep the
 * frame and the writes) */
static int __attribute__((noinline)) recurse(int depth)
{
    char frame[4000];
    memset(frame, depth, sizeof frame);
    __asm__ volatile("" : : "r"(frame) : "memory");
    if (depth == 0)
        return 0;
    int below = recurse(depth - 1);
    __asm__ volatile("" : : "r"(frame) : "memory");
    return below + frame[depth];
}

static int run_child(int depth)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {256 * 1024, RLIM_INFINITY};
        if (setrlimit(RLIMIT_STACK, &rl) != 0)
            _exit(2);
        recurse(depth);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return st;
}

int main(void)
{
    begin("misc_rlimit_stack");
    int st = run_child(40);            /* about 160 KiB of stack */
    check("160 KiB under a 256 KiB limit: exits normally", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    st = run_child(100);               /* about 400 KiB */
    check("400 KiB: killed", WIFSIGNALED(st));
    check_eq("... by SIGSEGV", SIGSEGV, WTERMSIG(st));
    st = run_child(1000);              /* 4 MiB: the parent's default 8 MiB limit allows it */
    check("4 MiB under the child's 256 KiB limit: killed too", WIFSIGNALED(st));
    pid_t pid = fork();
    if (pid == 0) {
        recurse(1000);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    check("4 MiB under the default 8 MiB: fine", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    end();
}
