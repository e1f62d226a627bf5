/* Lab fs: files bigger than the direct and singly-indirect blocks reach (12 + 1024 blocks
 * of 4 KiB: 4 MiB + 48 KiB) use the doubly-indirect block.  A 6 MiB file is written block
 * by block (each block stamped with its number) and read back; a sparse file gets a byte
 * at 100 MiB, past what its 32 MiB disk holds; truncate frees the blocks again.  The
 * grader reads the files from the host with debugfs and checks the disk with e2fsck. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define BLOCK 4096
#define BLOCKS (6 * 256)                  /* 6 MiB */
#define FAR (100L << 20)

static void stamp(char *buf, long n)
{
    memset(buf, 'a' + n % 26, BLOCK);
    snprintf(buf, 32, "block %ld", n);
}

int main(void)
{
    begin("fs_bigfile");
    static char buf[BLOCK], want[BLOCK];
    int fd = open("/big", O_CREAT | O_TRUNC | O_RDWR, 0644);
    check("create /big", fd >= 0);
    long written = 0;
    for (long n = 0; n < BLOCKS; n++) {
        stamp(buf, n);
        if (write(fd, buf, BLOCK) != BLOCK) {
            printf("(fs_bigfile) write of block %ld failed: errno %d\n", n, errno);
            break;
        }
        written++;
    }
    check_eq("blocks written (12 direct, 1024 singly-, 500 doubly-indirect)", BLOCKS, written);
    struct stat st;
    check_eq("fstat", 0, fstat(fd, &st));
    check_eq("size of /big", (long)BLOCKS * BLOCK, st.st_size);
    long wrong = 0;
    for (long n = 0; n < BLOCKS; n++) {
        stamp(want, n);
        if (pread(fd, buf, BLOCK, n * BLOCK) != BLOCK || memcmp(buf, want, BLOCK) != 0)
            wrong++;
    }
    check_eq("blocks that read back wrong", 0, wrong);
    check_eq("fsync", 0, fsync(fd));
    close(fd);

    fd = open("/sparse", O_CREAT | O_TRUNC | O_RDWR, 0644);
    check_eq("one byte at 100 MiB (a doubly-indirect block)", 1, pwrite(fd, "Z", 1, FAR));
    check_eq("one byte at 5 MiB", 1, pwrite(fd, "Y", 1, 5L << 20));
    check_eq("fstat", 0, fstat(fd, &st));
    check_eq("size of /sparse", FAR + 1, st.st_size);
    check("it holds only a few blocks (st_blocks <= 48)", st.st_blocks <= 48);
    char c = 0;
    check_eq("read the byte at 100 MiB", 1, pread(fd, &c, 1, FAR));
    check_eq("... 'Z'", 'Z', c);
    check_eq("read the byte at 5 MiB", 1, pread(fd, &c, 1, 5L << 20));
    check_eq("... 'Y'", 'Y', c);
    check_eq("read in the hole at 50 MiB", 1, pread(fd, &c, 1, 50L << 20));
    check_eq("... zero", 0, c);
    close(fd);

    fd = open("/truncated", O_CREAT | O_TRUNC | O_RDWR, 0644);
    for (long n = 0; n < 1200; n++) {
        stamp(buf, n);
        write(fd, buf, BLOCK);
    }
    check_eq("truncate a 1200-block file to 1100 blocks", 0, ftruncate(fd, 1100L * BLOCK));
    stamp(want, 1099);
    check_eq("read its last block", BLOCK, pread(fd, buf, BLOCK, 1099L * BLOCK));
    check("... intact", memcmp(buf, want, BLOCK) == 0);
    check_eq("truncate it to 10 blocks", 0, ftruncate(fd, 10L * BLOCK));
    check_eq("fstat", 0, fstat(fd, &st));
    check_eq("... 10 blocks of 8 sectors", 80, st.st_blocks);
    close(fd);
    sync();
    end();
}
