/* /proc/self/maps as Linux prints it: the program, [heap], [stack], each line
 * "start-end perms offset dev inode [path]"; a shared mapping shows 's'. */
#include "check.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static char buf[16384];

int main(void)
{
    begin("misc_proc_maps");
    char *heap = (char *)syscall(SYS_brk, 0);        /* (musl's sbrk only reads the break) */
    syscall(SYS_brk, heap + 4096);
    char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = open("/proc/self/maps", O_RDONLY);
    check("open /proc/self/maps", fd >= 0);
    int n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    buf[n] = 0;
    check("[heap] listed", strstr(buf, "[heap]\n") != NULL);
    check("[stack] listed", strstr(buf, "[stack]\n") != NULL);
    check("the program's code: r-xp", strstr(buf, " r-xp ") != NULL);
    int lines = 0, heap_ok = 0, stack_ok = 0, shared_ok = 0;
    uintptr_t sp = (uintptr_t)&lines;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi, off, ino;
        char perms[5], dev[6];
        if (sscanf(line, "%lx-%lx %4s %lx %5s %lu", &lo, &hi, perms, &off, dev, &ino) != 6)
            fail("line does not parse: %s", line);
        lines++;
        if (strstr(line, "[heap]") && lo <= (uintptr_t)heap && (uintptr_t)heap < hi && strcmp(perms, "rw-p") == 0)
            heap_ok = 1;
        if (strstr(line, "[stack]") && lo <= sp && sp < hi)
            stack_ok = 1;
        if (lo == (uintptr_t)shared && hi == lo + 8192 && strcmp(perms, "rw-s") == 0)
            shared_ok = 1;
        if (strchr(line, '[') && strchr(line, '[') - line != 73)
            fail("the name is not at column 73: %s", line);
    }
    check("several lines", lines >= 4);
    check("the heap line covers the break", heap_ok);
    check("the stack line covers the stack pointer", stack_ok);
    check("the shared mapping: rw-s", shared_ok);
    end();
}
