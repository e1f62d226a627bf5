/* A group stop holds every thread, including one blocked in a call when SIGSTOP came:
 * its read() may finish meanwhile, but it does not return to user mode until SIGCONT.
 * The child's worker thread sits in read() on a pipe; the parent stops the child, writes
 * to the pipe, and checks through shared memory that the worker has not run on; after
 * SIGCONT it does. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int *shared;          /* [0]: worker ready, [1]: worker came back from read */
static int fds[2];

static void *worker(void *arg)
{
    char c;
    shared[0] = 1;
    read(fds[0], &c, 1);
    shared[1] = 1;
    return NULL;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    begin("sig_group_stop");
    shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared[0] = shared[1] = 0;        /* populated before fork: both sides map this frame */
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
        for (;;)
            pause();
    }
    while (!shared[0])
        nap(1);
    nap(20);                                       /* the worker is in read() now */
    check_eq("SIGSTOP to the child", 0, kill(child, SIGSTOP));
    int status = 0;
    check_eq("waitpid sees it stopped", child, waitpid(child, &status, WUNTRACED));
    check("stopped by SIGSTOP", WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    check_eq("write the byte the worker waits for", 1, write(fds[1], "x", 1));
    nap(100);
    check_eq("the worker has not come back to user mode", 0, shared[1]);
    check_eq("SIGCONT", 0, kill(child, SIGCONT));
    for (int i = 0; i < 1000 && !shared[1]; i++)
        nap(1);
    check_eq("after SIGCONT it has", 1, shared[1]);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    check("the child is gone", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    end();
}
