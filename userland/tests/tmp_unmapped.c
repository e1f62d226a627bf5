/* A tmpfs file gives its memory back when its last name, descriptor and mapping are gone:
 * files of 1 MiB made, mapped, written through the map, unmapped, unlinked and closed, many
 * more times than guest memory could hold if they stayed. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

#define SIZE (1 << 20)

int main(void)
{
    begin("tmp_unmapped");
    for (int i = 0; i < 200; i++) {
        int fd = open("/tmp/big", O_CREAT | O_RDWR | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, SIZE) != 0)
            fail("round %d: create", i);
        char *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
            fail("round %d: mmap", i);
        memset(map, i, SIZE);
        char c;
        if (pread(fd, &c, 1, SIZE - 1) != 1 || c != (char)i)
            fail("round %d: the file does not hold what the map wrote", i);
        munmap(map, SIZE);
        unlink("/tmp/big");
        close(fd);
    }
    msg("200 rounds of 1 MiB in 64 MiB of memory");
    end();
}
