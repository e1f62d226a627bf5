/* A System V shared memory segment is shared between a parent and its forked child: what
 * one writes, the other reads; IPC_STAT counts the attachments. */
#include "check.h"
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("shm_fork");
    int id = shmget(IPC_PRIVATE, 3 * 4096, IPC_CREAT | 0600);
    check("shmget(IPC_PRIVATE)", id >= 0);
    volatile int *m = shmat(id, NULL, 0);
    check("shmat", m != (void *)-1);
    check_eq("a new segment reads as zero", 0, m[0] + m[1024] + m[2048]);
    m[0] = 1;
    struct shmid_ds ds;
    check_eq("IPC_STAT", 0, shmctl(id, IPC_STAT, &ds));
    check_eq("size", 3 * 4096, ds.shm_segsz);
    check_eq("one attachment", 1, ds.shm_nattch);
    check_eq("creator pid", getpid(), ds.shm_cpid);
    check_eq("mode", 0600, ds.shm_perm.mode & 0777);
    pid_t pid = fork();
    if (pid == 0) {
        if (m[0] != 1)
            _exit(1);
        m[2048] = 42;                         /* a page the parent never touched */
        m[0] = 2;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    check_eq("the child ran its checks", 0, WEXITSTATUS(st));
    check_eq("the parent sees the child's write", 2, m[0]);
    check_eq("... on a page it never touched", 42, m[2048]);
    check_eq("IPC_STAT after the child's exit", 0, shmctl(id, IPC_STAT, &ds));
    check_eq("the child's attachment went with it", 1, ds.shm_nattch);

    /* a second attach of the same segment at another address sees the same bytes */
    volatile int *again = shmat(id, NULL, SHM_RDONLY);
    check("second shmat", again != (void *)-1 && again != m);
    check_eq("same contents", 42, again[2048]);
    check_eq("shmdt the second", 0, shmdt((void *)again));
    errno = 0;
    check_eq("shmdt of an address not attached", -1, shmdt((void *)again));
    check_eq("... EINVAL", EINVAL, errno);

    int key_id = shmget(0x1234, 4096, IPC_CREAT | IPC_EXCL | 0644);
    check("shmget(key, IPC_CREAT|IPC_EXCL)", key_id >= 0);
    check_eq("shmget(key) finds it", key_id, shmget(0x1234, 0, 0));
    errno = 0;
    check_eq("again with IPC_EXCL fails", -1, shmget(0x1234, 4096, IPC_CREAT | IPC_EXCL | 0644));
    check_eq("... EEXIST", EEXIST, errno);
    errno = 0;
    check_eq("bigger than the segment fails", -1, shmget(0x1234, 8192, 0));
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check_eq("an unknown key without IPC_CREAT", -1, shmget(0x4321, 4096, 0));
    check_eq("... ENOENT", ENOENT, errno);
    check_eq("IPC_RMID the keyed one", 0, shmctl(key_id, IPC_RMID, NULL));
    errno = 0;
    check_eq("its key is gone", -1, shmget(0x1234, 0, 0));
    check_eq("... ENOENT", ENOENT, errno);
    errno = 0;
    check("shmat of a bad id fails", shmat(99999, NULL, 0) == (void *)-1);
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
