/* A mapped file with a bad block: pages beside it read normally, the bad page alone
 * raises SIGBUS (caught here, so the test can say so).
 * Usage: mmapbad FILE PAGES BAD (the file has PAGES pages; page BAD sits on a bad sector;
 * byte i of the file is i & 0xFF). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "check.h"

static sigjmp_buf back;

static void on_sigbus(int sig) { (void)sig; siglongjmp(back, 1); }

int main(int argc, char **argv)
{
    begin("mmapbad");
    if (argc < 4)
        fail("usage: mmapbad FILE PAGES BAD");
    long pages = atol(argv[2]), bad = atol(argv[3]);
    int fd = open(argv[1], O_RDONLY);
    unsigned char *m = mmap(NULL, pages * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    check("mapped", m != MAP_FAILED);
    signal(SIGBUS, on_sigbus);
    long good = 0, bus = 0;
    for (long p = 0; p < pages; p++) {
        if (sigsetjmp(back, 1)) {
            check_eq("the page that raised SIGBUS", bad, p);
            bus++;
            continue;
        }
        good += m[p * 4096 + 7] == 7;
    }
    check_eq("pages read beside the bad one", pages - 1, good);
    check_eq("SIGBUS raised", 1, bus);
    end();
}
