/* Persistent objects through capabilities:
 *   objects share     two processes map the same page object and see each other's writes
 *   objects readonly  a read-only capability maps the page, and writing it faults
 *   objects revoke    destroying an object revokes every capability to it
 *   objects quota     the space bank's quota ends allocation with a clean error */
#include "check.h"
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ukern.h>

#define PAGE_AT ((void *)0x600000000000)

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "share";
    begin("objects");
    long page = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
    check("the space bank gives a page capability", page >= 0);
    if (!strcmp(mode, "share")) {
        check_eq("map it", 0, ukern_cap_map(page, PAGE_AT, PROT_READ | PROT_WRITE));
        volatile long *p = PAGE_AT;
        check_eq("a fresh page object reads zero", 0, p[0]);
        pid_t child = fork();
        if (child == 0) {                 /* the child has the same capabilities */
            volatile long *q = (void *)0x610000000000;
            if (ukern_cap_map(page, (void *)q, PROT_READ | PROT_WRITE) < 0)
                _exit(2);
            q[1] = 4242;
            _exit(q[0] == 7 ? 0 : 3);
        }
        p[0] = 7;
        int status;
        waitpid(child, &status, 0);
        check_eq("the child saw the parent's write and exited 0", 0, WEXITSTATUS(status));
        check_eq("the parent sees the child's write", 4242, p[1]);
        end();
    }
    if (!strcmp(mode, "readonly") || !strcmp(mode, "weak")) {
        long ro = ukern_cap_call(page, UKERN_RESTRICT, strcmp(mode, "weak") ? UKERN_READ_ONLY : UKERN_WEAK, 0);
        check("a read-only copy of the capability", ro >= 0);
        check_eq("mapping it writable is refused", -1, ukern_cap_map(ro, PAGE_AT, PROT_READ | PROT_WRITE));
        check_eq("with EACCES", EACCES, errno);
        check_eq("mapping it read-only works", 0, ukern_cap_map(ro, PAGE_AT, PROT_READ));
        volatile long *p = PAGE_AT;
        check_eq("it reads", 0, p[0]);
        msg("writing through it now: the kernel must kill this process");
        p[0] = 1;
        fail("the write through a read-only capability succeeded");
    }
    if (!strcmp(mode, "revoke")) {
        check_eq("map it", 0, ukern_cap_map(page, PAGE_AT, PROT_READ | PROT_WRITE));
        volatile long *p = PAGE_AT;
        p[0] = 5;
        long copy = ukern_cap_call(page, UKERN_RESTRICT, 0, 0);
        check_eq("destroy it through the bank", 0, ukern_cap_call(UKERN_BANK_SLOT, UKERN_DESTROY, page, 0));
        check_eq("mapping the revoked copy fails", -1, ukern_cap_map(copy, (void *)0x620000000000, PROT_READ));
        msg("touching the old mapping now: the kernel must kill this process");
        (void)p[0];
        fail("the revoked page was still readable");
    }
    long got = 0, n = 0;
    while ((got = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0)) >= 0) {
        ukern_cap_drop(got);                 /* keep the c-list from filling first */
        if (++n > 100000)
            break;
    }
    check_eq("allocation ends with ENOSPC", ENOSPC, errno);
    msg("allocated %ld more pages before the quota", n);
    end();
}
