/* The guest half of the system-call fuzzer (fuzz/syscalls.py): takes a script in hex as
 * argv[1] (copied onto the stack at exec, far cheaper than the console's byte-at-a-time
 * input), lays out its arena at a fixed address, makes the set-up calls, then starts the
 * script's workers -- forked processes and threads (raw clone, on stacks of their own) --
 * and every worker performs its calls with the raw `syscall` instruction (no libc wrapper
 * in between, no errno), yielding after each call when there are several workers, so the
 * scheduler interleaves them.  Each worker writes its raw results back.
 *
 * script: "UKFZ", u32 number of calls, u32 length of the arena's start, those bytes (the
 *         rest of the arena is zero), u32 set-up calls, u32 workers, per worker u32 kind
 *         (0: the first process itself, 1: a forked process, 2: a thread) and u32 calls,
 *         then per call (set-up calls first, then each worker's in turn) u64 number and six
 *         u64 arguments.
 * stdout: per worker RESULT_MARK, u32 worker, u32 calls done, one i64 result per call (the
 *         first worker's records the set-up calls first), in one write on a descriptor
 *         duplicated away from 0-2 at the start (fuzzed calls may close those); a process
 *         or thread a fuzzed fork or clone made exits quietly. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/syscall.h>

#define ARENA ((void *)0x10000000)
#define ARENA_SIZE 65536
#define MAX_CALLS 256
#define MAX_WORKERS 4
#define RESULT_FD 200
#define RESULT_MARK "\x01UKFZ-RESULTS\x02"
#define THREAD_STACK 65536
/* CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|PARENT_SETTID|CHILD_CLEARTID: the tid word is
   cleared and woken (a futex) when the thread ends, as pthread_join waits for */
#define THREAD_FLAGS 0x350f00
#define FUTEX_WAIT 0

enum { MAIN, FORKED, THREAD };

struct worker {
    uint32_t index, kind, count, done;
    uint32_t start;               /* calls already made (the first worker's set-up calls) */
    const uint64_t *calls;
    int64_t *results;
    long id;                      /* pid (a process) or tid (a thread) that started it */
    volatile int finished;
    volatile int tid;             /* a thread: its tid while it runs, 0 once it has ended */
};

static unsigned char script[16 + ARENA_SIZE + MAX_CALLS * 56 + 8 * MAX_WORKERS];
static int64_t results[MAX_CALLS];
static struct worker workers[MAX_WORKERS];
static unsigned char stacks[MAX_WORKERS][THREAD_STACK] __attribute__((aligned(16)));
static unsigned char record[64 + MAX_CALLS * 8];

static long raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t decode_script(const char *hex)
{
    size_t got = 0;
    while (got < sizeof script && nibble(hex[0]) >= 0 && nibble(hex[1]) >= 0) {
        script[got++] = nibble(hex[0]) << 4 | nibble(hex[1]);
        hex += 2;
    }
    return got;
}

static uint32_t u32_at(size_t at)
{
    uint32_t v;
    memcpy(&v, script + at, 4);
    return v;
}

/* One write per worker, so records from several workers never interleave. */
static void report(struct worker *w)
{
    size_t n = sizeof RESULT_MARK - 1;
    memcpy(record, RESULT_MARK, n);
    memcpy(record + n, &w->index, 4);
    memcpy(record + n + 4, &w->done, 4);
    memcpy(record + n + 8, w->results, w->done * 8);
    raw_syscall(SYS_write, RESULT_FD, (long)record, n + 8 + w->done * 8, 0, 0, 0);
}

static long my_id(const struct worker *w)
{
    return raw_syscall(w->kind == THREAD ? SYS_gettid : SYS_getpid, 0, 0, 0, 0, 0, 0);
}

static void run_calls(struct worker *w, int several)
{
    for (w->done = w->start; w->done < w->count; w->done++) {
        const uint64_t *c = w->calls + 7 * w->done;
        w->results[w->done] = raw_syscall(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        if (several)
            raw_syscall(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
    }
    if (my_id(w) != w->id)         /* a child a fuzzed fork or clone made */
        raw_syscall(SYS_exit_group, 0, 0, 0, 0, 0, 0);
    report(w);
}

static __attribute__((noreturn)) void thread_main(struct worker *w)
{
    w->id = raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
    run_calls(w, 1);
    w->finished = 1;
    for (;;)
        raw_syscall(SYS_exit, 0, 0, 0, 0, 0, 0);
}

/* clone(2) without libc: the child starts on its own stack and calls thread_main(w). */
static long start_thread(struct worker *w, void *stack_top)
{
    register long r12 __asm__("r12") = (long)w;
    register long r13 __asm__("r13") = (long)thread_main;
    register long r10 __asm__("r10") = (long)&w->tid;
    register long r8 __asm__("r8") = 0;
    long ret;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov %%r12, %%rdi\n\t"
                     "call *%%r13\n\t"
                     "hlt\n"
                     "1:"
                     : "=a"(ret)
                     : "a"(SYS_clone), "D"(THREAD_FLAGS), "S"(stack_top), "d"(&w->tid), "r"(r10), "r"(r8),
                       "r"(r12), "r"(r13)
                     : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv)
{
    size_t got = argc > 1 ? decode_script(argv[1]) : 0;
    if (got < 12 || memcmp(script, "UKFZ", 4) != 0)
        return 2;
    uint32_t ncalls = u32_at(4), prefix = u32_at(8);
    if (ncalls > MAX_CALLS || prefix > ARENA_SIZE || got < 20 + prefix)
        return 2;
    uint32_t nsetup = u32_at(12 + prefix), nworkers = u32_at(16 + prefix);
    size_t calls_at = 20 + prefix + 8 * (size_t)nworkers;
    if (nworkers < 1 || nworkers > MAX_WORKERS || got < calls_at + (size_t)ncalls * 56)
        return 2;
    if (mmap(ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) != ARENA)
        return 3;
    memcpy(ARENA, script + 12, prefix);
    raw_syscall(SYS_dup2, 1, RESULT_FD, 0, 0, 0, 0);
    const uint64_t *calls = (const uint64_t *)(script + calls_at);
    uint32_t first = 0;
    for (uint32_t i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        w->index = i;
        w->kind = i == 0 ? MAIN : u32_at(20 + prefix + 8 * i);
        w->count = u32_at(24 + prefix + 8 * i) + (i == 0 ? nsetup : 0);
        if (first + w->count > ncalls)
            return 2;
        w->calls = calls + 7 * first;
        w->results = results + first;
        first += w->count;
    }
    /* The set-up calls run first, in the first process, before any worker starts. */
    struct worker *main_worker = &workers[0];
    main_worker->id = raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
    for (uint32_t i = 0; i < nsetup; i++) {
        const uint64_t *c = calls + 7 * i;
        results[i] = raw_syscall(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
    }
    main_worker->start = nsetup;
    long children[MAX_WORKERS] = {0};
    for (uint32_t i = 1; i < nworkers; i++) {
        struct worker *w = &workers[i];
        if (w->kind == THREAD) {
            if (start_thread(w, stacks[i] + THREAD_STACK) <= 0)
                w->finished = 1;
        } else {
            long pid = raw_syscall(SYS_fork, 0, 0, 0, 0, 0, 0);
            if (pid == 0) {
                w->id = raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
                run_calls(w, 1);
                raw_syscall(SYS_exit_group, 0, 0, 0, 0, 0, 0);
            }
            children[i] = pid;
            w->finished = 1;       /* (its own copy finishes; this one is not waited on) */
        }
    }
    run_calls(main_worker, nworkers > 1);
    for (uint32_t i = 1; i < nworkers; i++) {
        int tid;
        while (!workers[i].finished && (tid = workers[i].tid) != 0)
            raw_syscall(SYS_futex, (long)&workers[i].tid, FUTEX_WAIT, tid, 0, 0, 0);
        if (children[i] > 0)
            raw_syscall(SYS_wait4, children[i], 0, 0, 0, 0, 0);
    }
    return 0;
}
