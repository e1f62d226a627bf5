/* Write a file sequentially, for the disk benchmark:
 *   writeseq FILE MIB    MIB MiB of write() in 1 MiB pieces into a new file
 * What is still dirty when it exits is written back at shutdown, not while it runs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE (1 << 20)

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    int fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        return 1;
    unsigned char *buf = aligned_alloc(4096, PIECE);
    memset(buf, 0x5A, PIECE);
    long total = 0;
    for (int m = 0; m < atoi(argv[2]); m++) {
        long n = write(fd, buf, PIECE);
        if (n != PIECE)
            break;
        total += n;
    }
    close(fd);
    printf("write: %ld bytes\n", total);
    return 0;
}
