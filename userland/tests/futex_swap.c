/* A futex in a shared tmpfs mapping keeps its waiter while its page goes to swap and comes
 * back in another frame: the child waits on a word of a /dev/shm file; the parent then
 * touches far more memory than the machine has (the untouched page is paged out), writes
 * the word (it comes back from swap) and wakes it -- the wake must reach the child. */
#include "check.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex(volatile uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    begin("futex_swap");
    long mib = argc > 1 ? atol(argv[1]) : 40;
    int fd = open("/dev/shm/futex", O_RDWR | O_CREAT | O_TRUNC, 0600);
    check_eq("ftruncate", 0, ftruncate(fd, 4096));
    volatile uint32_t *word = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap shared", word != MAP_FAILED);
    word[0] = 0;
    pid_t child = fork();
    if (child == 0) {
        while (word[0] == 0)
            futex(word, FUTEX_WAIT, 0);        /* a shared futex: not FUTEX_PRIVATE */
        _exit(word[0] == 1 ? 0 : 2);
    }
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);                       /* the child is waiting now */
    size_t size = (size_t)mib << 20;
    volatile char *hog = malloc(size);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < size; i += 4096)
            hog[i] = (char)(i >> 12) + round;
    word[0] = 1;
    long woken = futex(word, FUTEX_WAKE, 1);
    check_eq("FUTEX_WAKE reached the waiter", 1, woken);
    if (woken != 1)
        kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    check_eq("the child saw the word and exited 0", 0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    unlink("/dev/shm/futex");
    end();
}
