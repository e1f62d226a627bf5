/* The guest half of the system-call fuzzer (fuzz/syscalls.py): takes a script in hex as
 * argv[1] (copied onto the stack at exec, far cheaper than the console's byte-at-a-time
 * input), lays out its arena at a fixed address, performs each call with the raw `syscall`
 * instruction (no libc wrapper in between, no errno), and writes the raw results back.
 *
 * script: "UKFZ", u32 number of calls, u32 length of the arena's start, those bytes (the
 *         rest of the arena is zero), then per call u64 number and six u64 arguments.
 * stdout: RESULT_MARK, u32 number of calls done, one i64 result per call; written on a
 *         descriptor duplicated away from 0-2 at the start (fuzzed calls may close those),
 *         and only by the process that started (a fuzzed fork's child exits quietly). */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/syscall.h>

#define ARENA ((void *)0x10000000)
#define ARENA_SIZE 65536
#define MAX_CALLS 256
#define RESULT_FD 200
#define RESULT_MARK "\x01UKFZ-RESULTS\x02"

static unsigned char script[8 + ARENA_SIZE + MAX_CALLS * 56];
static int64_t results[MAX_CALLS];

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

static void write_all(int fd, const void *buf, size_t n)
{
    while (n > 0) {
        long w = raw_syscall(SYS_write, fd, (long)buf, n, 0, 0, 0);
        if (w <= 0)
            return;
        buf = (const char *)buf + w;
        n -= w;
    }
}

int main(int argc, char **argv)
{
    size_t got = argc > 1 ? decode_script(argv[1]) : 0;
    uint32_t ncalls, prefix;
    if (got < 12 || memcmp(script, "UKFZ", 4) != 0)
        return 2;
    memcpy(&ncalls, script + 4, 4);
    memcpy(&prefix, script + 8, 4);
    if (ncalls > MAX_CALLS || prefix > ARENA_SIZE || got < 12 + prefix + (size_t)ncalls * 56)
        return 2;
    if (mmap(ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) != ARENA)
        return 3;
    memcpy(ARENA, script + 12, prefix);
    long me = raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
    raw_syscall(SYS_dup2, 1, RESULT_FD, 0, 0, 0, 0);
    const uint64_t *call = (const uint64_t *)(script + 12 + prefix);
    uint32_t done;
    for (done = 0; done < ncalls; done++, call += 7)
        results[done] = raw_syscall(call[0], call[1], call[2], call[3], call[4], call[5], call[6]);
    if (raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) != me)
        raw_syscall(SYS_exit_group, 0, 0, 0, 0, 0, 0);
    write_all(RESULT_FD, RESULT_MARK, sizeof RESULT_MARK - 1);
    write_all(RESULT_FD, &done, 4);
    write_all(RESULT_FD, results, done * 8);
    return 0;
}
