/* MAP_SHARED | MAP_ANONYMOUS memory is shared with children even for pages first touched
 * after fork (it is a memory file with no name, as on Linux), and /proc/self/maps lists
 * it, and a tmpfs file mapping, without trouble. */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("shared_anon_fork");
    volatile int *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check("mmap shared anonymous", m != MAP_FAILED);
    m[0] = 1;                                   /* touched before fork */
    pid_t child = fork();
    if (child == 0) {
        m[1024] = 42;                           /* a page nobody had touched */
        m[0] = 2;
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("the child's write to a page touched before fork", 2, m[0]);
    check_eq("the child's write to a page first touched after fork", 42, m[1024]);
    check_eq("an untouched page reads zero", 0, m[2048]);

    int fd = open("/tmp/mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4096);
    char *f = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    f[0] = 'x';
    char maps[4096];
    int mf = open("/proc/self/maps", O_RDONLY);
    long n = read(mf, maps, sizeof maps - 1);
    check("/proc/self/maps reads", n > 0);
    unlink("/tmp/mapped");
    end();
}
