/* exec detaches every segment: a segment marked IPC_RMID whose only attachment was the
 * old image's is destroyed by the exec.  The program runs itself again with the id. */
#include "check.h"
#include <errno.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 2) {                      /* after the exec */
        test_name = "shm_exec";
        struct shmid_ds ds;
        errno = 0;
        check_eq("the segment is gone after the exec", -1, shmctl(atoi(argv[1]), IPC_STAT, &ds));
        check_eq("... EINVAL", EINVAL, errno);
        end();
    }
    begin("shm_exec");
    int id = shmget(IPC_PRIVATE, 4 * 4096, IPC_CREAT | 0600);
    char *m = shmat(id, NULL, 0);
    check("shmget and shmat", id >= 0 && m != (void *)-1);
    check_eq("mprotect splits the attachment", 0, mprotect(m + 4096, 4096, PROT_READ));
    m[3 * 4096] = 7;
    check_eq("IPC_RMID while attached", 0, shmctl(id, IPC_RMID, NULL));
    char arg[16];
    snprintf(arg, sizeof arg, "%d", id);
    execl(argv[0], argv[0], arg, (char *)NULL);
    fail("execl: errno %d", errno);
}
