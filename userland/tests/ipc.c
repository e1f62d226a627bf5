/* Endpoints, EROS call/return: a child receives the parent's call, answers it, and gets a
 * page capability passed in the message; both then share the page. */
#include "check.h"
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ukern.h>

#define PAGE_AT ((void *)0x600000000000)

int main(void)
{
    begin("ipc");
    long ep = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_ENDPOINT, 0, 0);
    check("the bank makes an endpoint", ep >= 0);
    long page = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
    pid_t child = fork();
    if (child == 0) {
        struct ukern_msg m = {{UKERN_RECEIVE}};
        long op = ukern_cap_invoke(ep, &m);
        if (op != UKERN_CALL || m.w[1] != 21)    /* word 0: the operation the caller used */
            _exit(10);
        if (ukern_cap_map(m.w[UKERN_MSG_CAP], PAGE_AT, PROT_READ | PROT_WRITE) < 0)
            _exit(11);
        *(volatile long *)PAGE_AT = 99;          /* through the capability it was given */
        struct ukern_msg r = {{m.w[1] * 2, 0, 0, 0, 0, 0, 0, -1}};
        r.w[0] = UKERN_REPLY;
        r.w[1] = m.w[1] * 2;
        _exit(ukern_cap_invoke(ep, &r) == 0 ? 0 : 12);
    }
    struct ukern_msg m = {{UKERN_CALL, 21, 0, 0, 0, 0, 0, page}};
    check_eq("the call returns the server's reply word 0", UKERN_REPLY, ukern_cap_invoke(ep, &m));
    check_eq("with its answer in word 1", 42, m.w[1]);
    int status;
    waitpid(child, &status, 0);
    check_eq("the child exited 0", 0, WEXITSTATUS(status));
    check_eq("map the page", 0, ukern_cap_map(page, PAGE_AT, PROT_READ));
    check_eq("the child's write through the passed capability", 99, *(volatile long *)PAGE_AT);
    end();
}
