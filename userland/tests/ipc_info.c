/* What ipcs asks: IPC_INFO (the limits), SHM_INFO/SEM_INFO/MSG_INFO (what is in use) and
 * the *_STAT commands that name an object by its slot and return its id. */
#define _GNU_SOURCE
#include "check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

int main(void)
{
    begin("ipc_info");
    int shm1 = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    int shm2 = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    int sem = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    check("two segments, a semaphore set, a queue", shm1 >= 0 && shm2 >= 0 && sem >= 0 && msq >= 0);

    struct shminfo si;
    check_eq("shmctl(IPC_INFO): the highest slot", 1, shmctl(0, IPC_INFO, (struct shmid_ds *)&si));
    check_eq("shmmni", 4096, si.shmmni);
    struct shm_info su;
    check_eq("shmctl(SHM_INFO)", 1, shmctl(0, SHM_INFO, (struct shmid_ds *)&su));
    check_eq("used_ids", 2, su.used_ids);
    check_eq("shm_tot in pages", 3, su.shm_tot);
    struct shmid_ds ds;
    check_eq("shmctl(1, SHM_STAT) gives the second one's id", shm2, shmctl(1, SHM_STAT, &ds));
    check_eq("... and its size", 4096, ds.shm_segsz);

    struct seminfo mi;
    check_eq("semctl(SEM_INFO)", 0, semctl(0, 0, SEM_INFO, &mi));
    check_eq("semusz: one set", 1, mi.semusz);
    check_eq("semaem: three semaphores", 3, mi.semaem);
    check_eq("semvmx", 32767, mi.semvmx);
    struct semid_ds sd;
    check_eq("semctl(0, SEM_STAT)", sem, semctl(0, 0, SEM_STAT, &sd));
    check_eq("... sem_nsems", 3, sd.sem_nsems);

    struct msginfo qi;
    check_eq("msgctl(IPC_INFO)", 0, msgctl(0, IPC_INFO, (struct msqid_ds *)&qi));
    check_eq("msgmax", 8192, qi.msgmax);
    struct { long mtype; char text[4]; } m = {1, "abc"};
    msgsnd(msq, &m, 4, 0);
    check_eq("msgctl(MSG_INFO)", 0, msgctl(0, MSG_INFO, (struct msqid_ds *)&qi));
    check_eq("msgpool: one queue", 1, qi.msgpool);
    check_eq("msgmap: one message", 1, qi.msgmap);
    check_eq("msgtql: 4 bytes", 4, qi.msgtql);
    struct msqid_ds qd;
    check_eq("msgctl(0, MSG_STAT)", msq, msgctl(0, MSG_STAT, &qd));
    check_eq("... one message", 1, qd.msg_qnum);
    shmctl(shm1, IPC_RMID, NULL);
    shmctl(shm2, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    msgctl(msq, IPC_RMID, NULL);
    check_eq("nothing left: SHM_INFO used_ids", 0, (shmctl(0, SHM_INFO, (struct shmid_ds *)&su), su.used_ids));
    end();
}
