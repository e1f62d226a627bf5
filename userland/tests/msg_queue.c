/* Message queues: receiving by type (0, positive, negative), MSG_NOERROR and E2BIG,
 * IPC_NOWAIT, a receiver that blocks until a message comes, and IPC_RMID. */
#include "check.h"
#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct m { long mtype; char text[32]; };

static void send(int id, long type, const char *text)
{
    struct m msg = {type, {0}};
    strcpy(msg.text, text);
    if (msgsnd(id, &msg, strlen(text) + 1, 0) != 0)
        fail("msgsnd %s", text);
}

int main(void)
{
    begin("msg_queue");
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    check("msgget", id >= 0);
    send(id, 3, "three");
    send(id, 1, "one");
    send(id, 2, "two");
    send(id, 1, "uno");
    struct m r;
    check_eq("msgrcv type 2", 4, msgrcv(id, &r, sizeof r.text, 2, 0));
    check("... gets two", r.mtype == 2 && strcmp(r.text, "two") == 0);
    check_eq("msgrcv type -2: lowest type <= 2", 4, msgrcv(id, &r, sizeof r.text, -2, 0));
    check("... gets the first type 1: one", r.mtype == 1 && strcmp(r.text, "one") == 0);
    check_eq("msgrcv type 0: the first", 6, msgrcv(id, &r, sizeof r.text, 0, 0));
    check("... three", r.mtype == 3 && strcmp(r.text, "three") == 0);
    errno = 0;
    check_eq("too small a buffer", -1, msgrcv(id, &r, 2, 0, 0));
    check_eq("... E2BIG", E2BIG, errno);
    check_eq("MSG_NOERROR truncates", 2, msgrcv(id, &r, 2, 0, MSG_NOERROR));
    check("... un", r.text[0] == 'u' && r.text[1] == 'n');
    errno = 0;
    check_eq("empty, IPC_NOWAIT", -1, msgrcv(id, &r, sizeof r.text, 0, IPC_NOWAIT));
    check_eq("... ENOMSG", ENOMSG, errno);
    struct m bad = {0, "x"};
    errno = 0;
    check_eq("mtype 0 cannot be sent", -1, msgsnd(id, &bad, 2, 0));
    check_eq("... EINVAL", EINVAL, errno);

    pid_t pid = fork();
    if (pid == 0) {
        struct m got;
        ssize_t n = msgrcv(id, &got, sizeof got.text, 7, 0);   /* blocks until type 7 */
        _exit(n == 6 && strcmp(got.text, "seven") == 0 ? 0 : 1);
    }
    struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    send(id, 5, "five");                  /* not what it waits for */
    send(id, 7, "seven");
    int st;
    waitpid(pid, &st, 0);
    check_eq("the blocked receiver got type 7", 0, WEXITSTATUS(st));
    struct msqid_ds ds;
    check_eq("IPC_STAT", 0, msgctl(id, IPC_STAT, &ds));
    check_eq("one message left (type 5)", 1, ds.msg_qnum);
    check_eq("5 bytes in it", 5, ds.msg_cbytes);
    check_eq("last receiver", pid, ds.msg_lrpid);

    pid = fork();
    if (pid == 0) {
        struct m got;
        _exit(msgrcv(id, &got, sizeof got.text, 9, 0) == -1 && errno == EIDRM ? 0 : 1);
    }
    nanosleep(&t, NULL);
    check_eq("IPC_RMID", 0, msgctl(id, IPC_RMID, NULL));
    waitpid(pid, &st, 0);
    check_eq("the waiting receiver got EIDRM", 0, WEXITSTATUS(st));
    errno = 0;
    check_eq("the queue is gone", -1, msgsnd(id, &r, 1, 0));
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
