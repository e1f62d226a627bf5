/* Lab fs: symbolic links at the edge between fast and slow.  A 59-byte target still fits
 * in the inode's 60 bytes of block pointers with room for nothing else (a fast link); a
 * 60-byte one does not (a slow link, one data block); a 4095-byte one fills its block.
 * Each reads back whole, and a path through the links reaches the file.  The grader then
 * looks at the inodes with debugfs and checks the disk with e2fsck. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

static void target_of(char *buf, int len)
{
    memset(buf, '/', len - 4);              /* "////...edge": len bytes naming /edge */
    memcpy(buf + len - 4, "edge", 5);
}

int main(void)
{
    begin("fs_links_edge");
    int fd = open("/edge", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    check_eq("write /edge", 4, write(fd, "edge", 4));
    close(fd);
    static char target[4200], got[4200];
    static const int lengths[] = {59, 60, 4095};
    static const char *names[] = {"/link59", "/link60", "/link4095"};
    for (int i = 0; i < 3; i++) {
        target_of(target, lengths[i]);
        check_eq("target length", lengths[i], (long)strlen(target));
        check_eq(names[i], 0, symlink(target, names[i]) ? errno : 0);
        memset(got, 0, sizeof got);
        check_eq("readlink returns the target's length", lengths[i], readlink(names[i], got, sizeof got));
        check("... and the target", memcmp(got, target, lengths[i]) == 0);
        struct stat st;
        check_eq("lstat size", lengths[i], (lstat(names[i], &st), st.st_size));
        fd = open(names[i], O_RDONLY);
        check("open through the link", fd >= 0);
        memset(got, 0, 8);
        check_eq("read /edge through it", 4, read(fd, got, 8));
        close(fd);
    }
    target_of(target, 4096);
    check_eq("a 4096-byte target: ENAMETOOLONG", ENAMETOOLONG, symlink(target, "/link4096") ? errno : 0);
    sync();
    end();
}
