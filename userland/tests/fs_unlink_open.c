/* An open file outlives its name: after unlink (and after a rename over it) the data stays
 * readable and writable through the descriptor, and the blocks come back at last close. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>

static long long free_blocks(void)
{
    struct statfs s;
    statfs("/", &s);
    return s.f_bfree;
}

static char buf[65536];

int main(void)
{
    begin("fs_unlink_open");
    long long before = free_blocks();
    int fd = open("/doomed", O_CREAT | O_RDWR, 0644);
    memset(buf, 'x', sizeof buf);
    check_eq("write 64 KiB", (long)sizeof buf, write(fd, buf, sizeof buf));
    int fd2 = dup(fd);
    check_eq("unlink while open", 0, unlink("/doomed"));
    check_eq("the name is gone", -1, open("/doomed", O_RDONLY));
    struct stat st;
    fstat(fd, &st);
    check_eq("fstat: no links", 0, st.st_nlink);
    check_eq("fstat: size kept", (long)sizeof buf, st.st_size);
    memset(buf, 0, sizeof buf);
    check_eq("read it back through the descriptor", (long)sizeof buf, pread(fd, buf, sizeof buf, 0));
    check("... the bytes written", buf[0] == 'x' && buf[sizeof buf - 1] == 'x');
    memset(buf, 'y', sizeof buf);
    check_eq("write 64 KiB more", (long)sizeof buf, write(fd, buf, sizeof buf));
    check("blocks still in use", free_blocks() < before);
    close(fd);
    check("blocks still in use with one descriptor left", free_blocks() < before);
    check_eq("read through the dup", 1, pread(fd2, buf, 1, 70000));
    check("... y", buf[0] == 'y');
    close(fd2);
    check_eq("free blocks back after the last close", before, free_blocks());

    /* rename over an open file */
    int a = open("/old", O_CREAT | O_RDWR, 0644);
    write(a, "old contents", 12);
    int b = open("/new", O_CREAT | O_RDWR, 0644);
    write(b, "new", 3);
    close(b);
    check_eq("rename /new over the open /old", 0, rename("/new", "/old"));
    char small[16] = {0};
    check_eq("the replaced file reads on", 12, pread(a, small, sizeof small, 0));
    check("... its own contents", memcmp(small, "old contents", 12) == 0);
    close(a);
    b = open("/old", O_RDONLY);
    check_eq("the name now holds the new file", 3, read(b, small, sizeof small));
    close(b);
    unlink("/old");
    check_eq("free blocks back again", before, free_blocks());
    end();
}
