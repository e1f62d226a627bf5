/* Reads a file from start to end in pieces (1 MiB, or the size given) and prints how many
 * bytes it read and a checksum (used by the read benchmark and the readahead tests). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned char buf[1 << 20];

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: readall FILE [PIECE]\n");
        return 2;
    }
    long piece = argc > 2 ? atol(argv[2]) : (long)sizeof buf;
    if (piece <= 0 || piece > (long)sizeof buf)
        piece = sizeof buf;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    long total = 0, n;
    unsigned long sum = 0;
    while ((n = read(fd, buf, piece)) > 0) {
        total += n;
        for (long i = 0; i < n; i += 4096)
            sum += buf[i];
    }
    printf("%ld bytes, checksum %lu\n", total, sum);
    return n < 0;
}
