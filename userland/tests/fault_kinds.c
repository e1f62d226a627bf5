/* One page fault of each kind the fault views name, in a fixed order: the heap (brk),
 * .bss, an anonymous mmap, a mapped file (page 2 of /tmp/data.txt), stack growth, a
 * copy-on-write break in a child, and a protection error that kills another child.
 * Built with its symbols (userland/build.py DEBUG_PROGRAMS) so the views can say
 * which function faulted; tests/test_faults_brief.py compares the views to golden files. */
#include "check.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static volatile char bss_page[4 * PAGE];
static volatile int shared_after_fork = 1;

static __attribute__((noinline)) void touch_heap(void)
{
    char *start = (char *)syscall(SYS_brk, 0);
    syscall(SYS_brk, start + 2 * PAGE);
    volatile char *heap = start;
    heap[0] = 1;
    heap[PAGE] = 2;
}

static __attribute__((noinline)) void touch_bss(void)
{
    bss_page[2 * PAGE] = 3;
}

static __attribute__((noinline)) void touch_anon(void)
{
    volatile char *anon = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    anon[PAGE] = 4;
    munmap((void *)anon, 2 * PAGE);
}

static __attribute__((noinline)) int read_file_page(void)
{
    static char block[3 * PAGE];
    memset(block, 'f', sizeof block);
    int fd = open("/tmp/data.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, block, sizeof block);
    volatile char *map = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    int c = map[2 * PAGE];
    munmap((void *)map, 3 * PAGE);
    close(fd);
    return c;
}

static __attribute__((noinline)) void touch_lowest(volatile char *p, char value)
{
    *p = value;
}

/* 48 KiB frames, each touched at its lowest byte: the third and fourth lie below the
 * 128 KiB the stack starts with, and it grows down to them. */
static __attribute__((noinline)) int grow_stack(int depth)
{
    char frame[48 * 1024];
    touch_lowest(frame, (char)depth);
    return depth ? grow_stack(depth - 1) + frame[0] : frame[0];
}

static __attribute__((noinline)) void write_read_only(void)
{
    volatile char *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 5;                       /* SIGSEGV: the region is read-only */
}

int main(void)
{
    begin("fault_kinds");
    touch_heap();
    touch_bss();
    touch_anon();
    check_eq("the mapped file's third page reads its byte", 'f', read_file_page());
    check_eq("a deep recursion grows the stack", 6, grow_stack(3));
    pid_t child = fork();
    if (child == 0) {
        shared_after_fork = 2;       /* a copy-on-write break in the child */
        _exit(shared_after_fork);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("the child saw its own copy", 2, WEXITSTATUS(status));
    child = fork();
    if (child == 0) {
        write_read_only();
        _exit(0);
    }
    waitpid(child, &status, 0);
    check_eq("a write to a read-only page kills with SIGSEGV", SIGSEGV, WTERMSIG(status));
    check_eq("the parent's copy is unchanged", 1, shared_after_fork);
    end();
}
