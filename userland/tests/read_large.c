/* One read() of a file larger than what memory can hold besides the buffer it fills: the
 * kernel holds the file's cached blocks a piece at a time, so the read is whole.
 *   read_large MIB */
#include "patfile.h"

int main(int argc, char **argv)
{
    long size = (argc > 1 ? atol(argv[1]) : 3) << 20;
    begin("read_large");
    int fd = write_pattern_file("/large", size);
    unsigned char *buf = malloc(size);
    check("a buffer as large as the file", buf != NULL);
    check_eq("one read() of the whole file", size, pread(fd, buf, size, 0));
    long wrong = 0;
    for (long i = 0; i < size; i++)
        wrong += buf[i] != pattern(i);
    check_eq("bytes that differ from what was written", 0, wrong);
    close(fd);
    unlink("/large");
    end();
}
