/* The overlap benchmark (seed 000): read FILE in 1 MiB pieces and checksum each, either
 * with plain reads (O_DIRECT, so no readahead hides the wait: the disk and the CPU take
 * turns) or with ukern_aread issued one piece ahead (the disk reads the next piece while
 * the CPU sums this one).  Prints the virtual time.
 *   overlap sync|async|disk|compute FILE    (disk: the reads alone; compute: the sums alone) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ukern.h>

#define PIECE (1 << 20)

static unsigned long checksum(const unsigned char *p)
{
    unsigned long sum = 0;
    for (long i = 0; i < PIECE; i++)
        sum = sum * 31 + p[i];
    return sum;
}

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int plain = !strcmp(argv[1], "sync") || !strcmp(argv[1], "disk");
    int fd = open(argv[2], O_RDONLY | (plain ? O_DIRECT : 0));
    long size = lseek(fd, 0, SEEK_END), pieces = size / PIECE;
    unsigned char *buf[2] = {aligned_alloc(4096, PIECE), aligned_alloc(4096, PIECE)};
    unsigned long sum = 0;
    long start = now_ns();
    if (plain) {
        for (long i = 0; i < pieces; i++) {
            pread(fd, buf[0], PIECE, i * PIECE);
            if (!strcmp(argv[1], "sync"))
                sum += checksum(buf[0]);
        }
    } else if (!strcmp(argv[1], "compute")) {
        memset(buf[0], 1, PIECE);
        for (long i = 0; i < pieces; i++)
            sum += checksum(buf[0]);
    } else {
        long id[2];
        id[0] = ukern_aread(fd, buf[0], PIECE, 0);
        for (long i = 0; i < pieces; i++) {
            if (i + 1 < pieces)
                id[(i + 1) % 2] = ukern_aread(fd, buf[(i + 1) % 2], PIECE, (i + 1) * PIECE);
            ukern_await(id[i % 2]);
            sum += checksum(buf[i % 2]);
        }
    }
    printf("%s: %ld pieces, checksum %lu, %ld ns\n", argv[1], pieces, sum, now_ns() - start);
    return 0;
}
