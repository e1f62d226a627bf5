/* Semaphores between processes: a child blocks in semop until its parent posts; GETNCNT
 * counts it meanwhile; IPC_NOWAIT gives EAGAIN; semtimedop times out; SEM_UNDO is undone
 * at exit; IPC_RMID wakes a sleeper with EIDRM. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

static void nap(void)
{
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
}

int main(void)
{
    begin("sem_wait");
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    check("semget", id >= 0);
    check_eq("a new semaphore is 0", 0, semctl(id, 0, GETVAL));
    pid_t pid = fork();
    if (pid == 0) {
        struct sembuf down = {0, -1, 0};
        if (semop(id, &down, 1) != 0)
            _exit(1);
        struct sembuf post = {1, 1, 0};          /* tell the parent we got through */
        semop(id, &post, 1);
        _exit(0);
    }
    while (semctl(id, 0, GETNCNT) != 1)
        nap();
    check_eq("the child waits: GETNCNT", 1, semctl(id, 0, GETNCNT));
    struct sembuf up = {0, 1, 0};
    check_eq("semop +1 wakes it", 0, semop(id, &up, 1));
    struct sembuf wait1 = {1, -1, 0};
    check_eq("the child posted back", 0, semop(id, &wait1, 1));
    int st;
    waitpid(pid, &st, 0);
    check_eq("the child's semop returned 0", 0, WEXITSTATUS(st));
    check_eq("GETPID: the child changed semaphore 0 last", pid, semctl(id, 0, GETPID));
    check_eq("... and the parent semaphore 1", getpid(), semctl(id, 1, GETPID));

    struct sembuf nowait = {0, -1, IPC_NOWAIT};
    errno = 0;
    check_eq("IPC_NOWAIT on 0", -1, semop(id, &nowait, 1));
    check_eq("... EAGAIN", EAGAIN, errno);
    struct sembuf down = {0, -1, 0};
    struct timespec tmo = {0, 100 * 1000 * 1000};
    errno = 0;
    check_eq("semtimedop times out", -1, semtimedop(id, &down, 1, &tmo));
    check_eq("... EAGAIN", EAGAIN, errno);

    /* all or nothing: the second op cannot go, so the first does not happen either */
    struct sembuf pair[2] = {{1, 5, 0}, {0, -1, IPC_NOWAIT}};
    check_eq("a list that cannot all go", -1, semop(id, pair, 2));
    check_eq("changed nothing", 0, semctl(id, 1, GETVAL));

    unsigned short all[2] = {3, 4}, back[2];
    check_eq("SETALL", 0, semctl(id, 0, SETALL, (union semun){.array = all}));
    check_eq("GETALL", 0, semctl(id, 0, GETALL, (union semun){.array = back}));
    check("reads back 3 4", back[0] == 3 && back[1] == 4);
    check_eq("SETVAL", 0, semctl(id, 1, SETVAL, (union semun){.val = 9}));
    check_eq("GETVAL", 9, semctl(id, 1, GETVAL));
    struct semid_ds ds;
    check_eq("IPC_STAT", 0, semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
    check_eq("sem_nsems", 2, ds.sem_nsems);

    pid = fork();
    if (pid == 0) {
        struct sembuf take = {1, -4, SEM_UNDO};
        semop(id, &take, 1);
        _exit(semctl(id, 1, GETVAL) == 5 ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    check_eq("the child took 4 with SEM_UNDO", 0, WEXITSTATUS(st));
    check_eq("given back at its exit", 9, semctl(id, 1, GETVAL));

    pid = fork();
    if (pid == 0) {
        struct sembuf zero = {1, 0, 0};           /* wait for zero: never comes */
        _exit(semop(id, &zero, 1) == -1 && errno == EIDRM ? 0 : 1);
    }
    while (semctl(id, 1, GETZCNT) != 1)
        nap();
    check_eq("GETZCNT counts the sleeper", 1, semctl(id, 1, GETZCNT));
    check_eq("IPC_RMID", 0, semctl(id, 0, IPC_RMID));
    waitpid(pid, &st, 0);
    check_eq("the sleeper got EIDRM", 0, WEXITSTATUS(st));
    errno = 0;
    check_eq("the set is gone", -1, semctl(id, 0, GETVAL));
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
