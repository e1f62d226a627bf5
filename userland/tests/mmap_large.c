/* Maps a file larger than memory and reads it through twice: reclaim unmaps clean file
 * pages from the process and gives their frames back, and the next touch reads them again.
 *   mmap_large MIB */
#include "patfile.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long size = (argc > 1 ? atol(argv[1]) : 8) << 20;
    begin("mmap_large");
    int fd = write_pattern_file("/large", size);
    unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    check("mapped", m != MAP_FAILED);
    for (int pass = 1; pass <= 2; pass++) {
        long wrong = 0;
        for (long i = 0; i < size; i += 64)
            wrong += m[i] != pattern(i);
        check_eq(pass == 1 ? "first pass: bytes that differ" : "second pass: the same", 0, wrong);
    }
    munmap(m, size);
    close(fd);
    unlink("/large");
    end();
}
