/* IPC_RMID destroys a segment only when the last process detaches it: until then its
 * pages stay readable (and its frames used); after the last shmdt they are free. */
#include "check.h"
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 128

static long free_pages(void)
{
    struct sysinfo si;
    sysinfo(&si);
    return (long)(si.freeram * si.mem_unit / 4096);
}

int main(void)
{
    begin("shm_rmid");
    int id = shmget(IPC_PRIVATE, PAGES * 4096, IPC_CREAT | 0600);
    char *m = shmat(id, NULL, 0);
    check("shmget and shmat", id >= 0 && m != (void *)-1);
    for (int i = 0; i < PAGES; i++)
        m[i * 4096] = (char)i;
    long touched = free_pages();
    check_eq("IPC_RMID while attached", 0, shmctl(id, IPC_RMID, NULL));
    struct shmid_ds ds;
    check_eq("IPC_STAT still works while attached", 0, shmctl(id, IPC_STAT, &ds));
    check("marked for destruction (SHM_DEST)", ds.shm_perm.mode & 01000);
    check_eq("the pages are still there", 77, m[77 * 4096]);
    check("no frame was freed yet", free_pages() <= touched + 4);
    check_eq("shmdt the last attachment", 0, shmdt(m));
    check("the segment's frames are free", free_pages() >= touched + PAGES - 8);
    errno = 0;
    check_eq("the id is gone", -1, shmctl(id, IPC_STAT, &ds));
    check_eq("... EINVAL", EINVAL, errno);

    /* the same at exit: a child holds the last attachment */
    id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    m = shmat(id, NULL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    shmdt(m);
    check_eq("IPC_RMID with the child attached", 0, shmctl(id, IPC_RMID, NULL));
    check_eq("still there for the child", 0, shmctl(id, IPC_STAT, &ds));
    check_eq("one attachment", 1, ds.shm_nattch);
    kill(pid, 9);
    waitpid(pid, NULL, 0);
    errno = 0;
    check_eq("gone when the child exits", -1, shmctl(id, IPC_STAT, &ds));
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
