/* Read a whole file three ways, for the copies and disk benchmarks:
 *   readmodes read FILE       read() in 1 MiB pieces (the kernel copies every byte)
 *   readmodes odirect FILE    O_DIRECT reads: DMA straight into the buffer
 *   readmodes mapdirect FILE  mmap MAP_DIRECT | MAP_BLOCK: DMA straight into the mapping
 *   readmodes read FILE BYTES read() only that many bytes (for /dev/zero, which has no
 *                             size: the same loop with no disk behind it) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ukern.h>

#define PIECE (1 << 20)

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int direct = !strcmp(argv[1], "odirect");
    int fd = open(argv[2], O_RDONLY | (direct ? O_DIRECT : 0));
    long size = argc > 3 ? atol(argv[3]) : lseek(fd, 0, SEEK_END);
    if (argc <= 3)
        lseek(fd, 0, SEEK_SET);
    unsigned long sum = 0;
    long total = 0;
    if (!strcmp(argv[1], "mapdirect")) {
        unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_DIRECT | MAP_BLOCK, fd, 0);
        for (long i = 0; i < size; i += 4096)
            sum += m[i];
        total = size;
    } else {
        unsigned char *buf = aligned_alloc(4096, PIECE);
        long n;
        while (total < size && (n = read(fd, buf, size - total < PIECE ? size - total : PIECE)) > 0) {
            for (long i = 0; i < n; i += 4096)
                sum += buf[i];
            total += n;
        }
    }
    printf("%s: %ld bytes, checksum %lu\n", argv[1], total, sum);
    return 0;
}
