/* Page-level asynchronous I/O (seed 000): ukern_aread returns at once, a page can be used
 * as soon as it has arrived, touching one still on its way waits for that page only, a
 * failed page raises SIGBUS; ukern_awrite sends what the buffer held at the call even if
 * the program writes the buffer right away (seed 004).
 *   aio read FILE PAGES K      read, touch page K first, then check every page
 *   aio badread FILE PAGES BAD read; page BAD's sector is bad: SIGBUS there, EIO from await
 *   aio write FILE PAGES       awrite 'A's, then write 'B's into the buffer at once
 *   aio bigwrite FILE PAGES    awrite 'A's from a buffer about as large as memory: it is
 *                              refused with ENOMEM, or written whole (the test checks which)
 *   aio badwrite FILE PAGES    awrite where the disk fails: await and fsync report EIO
 *   aio exit FILE PAGES        start a read and exit without waiting
 *   aio unmap FILE PAGES       start a read and munmap the buffer at once */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdint.h>
#include <unistd.h>
#include <ukern.h>

#define PAGE 4096
static sigjmp_buf jump;
static volatile void *fault_addr;

static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    (void)sig; (void)ctx;
    fault_addr = info->si_addr;
    siglongjmp(jump, 1);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *mode = argv[1];
    long pages = atol(argv[3]);
    begin("aio");
    unsigned char *buf = aligned_alloc(PAGE, pages * PAGE);
    memset(buf, 0xEE, pages * PAGE);
    int writing = !strcmp(mode, "write") || !strcmp(mode, "badwrite") || !strcmp(mode, "bigwrite");
    int fd = open(argv[2], writing ? O_RDWR | O_CREAT : O_RDONLY, 0644);
    check("open", fd >= 0);
    if (!strcmp(mode, "write")) {
        memset(buf, 'A', pages * PAGE);
        long id = ukern_awrite(fd, buf, pages * PAGE, 0);
        check("ukern_awrite returns a request id", id > 0);
        memset(buf, 'B', pages * PAGE);            /* the pages are still on their way */
        check_eq("ukern_await", pages * PAGE, ukern_await(id));
        check_eq("memory holds the new bytes", 'B', buf[PAGE + 7]);
        check_eq("fsync reports no error", 0, fsync(fd));
        end();
    }
    if (!strcmp(mode, "bigwrite")) {
        memset(buf, 'A', pages * PAGE);
        long id = ukern_awrite(fd, buf, pages * PAGE, 0);
        if (id < 0) {
            check_eq("a buffer memory cannot hold at once: ukern_awrite fails with", ENOMEM, errno);
            end();
        }
        msg("ukern_awrite took the buffer");
        check_eq("ukern_await", pages * PAGE, ukern_await(id));
        end();
    }
    if (!strcmp(mode, "badwrite")) {
        memset(buf, 'A', pages * PAGE);
        long id = ukern_awrite(fd, buf, pages * PAGE, 0);
        check("ukern_awrite returns at once", id > 0);
        check_eq("ukern_await fails", -1, ukern_await(id));
        check_eq("with EIO", EIO, errno);
        check_eq("the next fsync fails too", -1, fsync(fd));
        check_eq("with EIO", EIO, errno);
        check_eq("and the one after succeeds", 0, fsync(fd));
        end();
    }
    if (!strcmp(mode, "unmap")) {
        unsigned char *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        long id = ukern_aread(fd, m, pages * PAGE, 0);
        check("ukern_aread into a mapping", id > 0);
        check_eq("munmap it while the pages are in flight", 0, munmap(m, pages * PAGE));
        check_eq("ukern_await still completes", pages * PAGE, ukern_await(id));
        end();
    }
    long id = ukern_aread(fd, buf, pages * PAGE, 0);
    check("ukern_aread returns a request id", id > 0);
    if (!strcmp(mode, "exit")) {
        msg("exiting with the read in flight");
        end();
    }
    check_eq("ukern_apoll right away: still in flight", -1, ukern_apoll(id));
    if (!strcmp(mode, "read")) {
        long k = argc > 4 ? atol(argv[4]) : 3;
        check_eq("page K, waited for alone", k, buf[k * PAGE + 100]);
        for (long i = 0; i < pages; i++)
            if (buf[i * PAGE] != (unsigned char)i || buf[i * PAGE + PAGE - 1] != (unsigned char)i)
                fail("page %ld: expected %ld, got %d", i, i, buf[i * PAGE]);
        msg("every page holds its number");
        check_eq("ukern_await", pages * PAGE, ukern_await(id));
        end();
    }
    long bad = atol(argv[4]);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    check_eq("page 0 arrives intact", 0, buf[0]);
    if (sigsetjmp(jump, 1) == 0) {
        volatile unsigned char x = buf[bad * PAGE];
        (void)x;
        fail("touching the failed page did not raise SIGBUS");
    }
    check("SIGBUS's si_addr is the failed page", fault_addr == buf + bad * PAGE);
    for (long i = 0; i < pages; i++)
        if (i != bad && buf[i * PAGE + 9] != (unsigned char)i)
            fail("page %ld: expected %ld, got %d", i, i, buf[i * PAGE + 9]);
    msg("the other pages arrived intact");
    check_eq("ukern_await fails", -1, ukern_await(id));
    check_eq("with EIO", EIO, errno);
    end();
}
