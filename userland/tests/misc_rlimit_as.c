/* RLIMIT_AS: an mmap that would pass it fails with ENOMEM, so does brk; smaller ones work. */
#include "check.h"
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
    begin("misc_rlimit_as");
    struct rlimit rl = {64 << 20, RLIM_INFINITY};
    check_eq("setrlimit(AS, 64 MiB)", 0, setrlimit(RLIMIT_AS, &rl));
    errno = 0;
    void *big = mmap(NULL, 128 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("a 128 MiB mmap fails", big == MAP_FAILED);
    check_eq("... ENOMEM", ENOMEM, errno);
    void *small = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("a 1 MiB mmap works", small != MAP_FAILED);
    void *cur = sbrk(0);
    errno = 0;
    check("sbrk by 100 MiB fails", sbrk(100 << 20) == (void *)-1);
    check_eq("the break did not move", (intptr_t)cur, (intptr_t)sbrk(0));
    void *volatile huge = malloc(200 << 20);      /* (volatile: the compiler may not drop it) */
    check("malloc of 200 MiB fails", huge == NULL);
    end();
}
