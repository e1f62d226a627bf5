/* statfs and fstatfs: ext2's magic and sizes from the superblock; free blocks fall as a
 * file grows. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/statfs.h>

int main(void)
{
    begin("fs_statfs");
    struct statfs s;
    check_eq("statfs /", 0, statfs("/", &s));
    check_eq("ext2 magic", 0xEF53, s.f_type);
    check_eq("block size 4096", 4096, s.f_bsize);
    check("blocks counted", s.f_blocks > 1000);
    check("free <= total", s.f_bfree <= s.f_blocks);
    check("available <= free", s.f_bavail <= s.f_bfree);
    check("inodes counted", s.f_files > 100 && s.f_ffree < s.f_files);
    check_eq("names up to 255 bytes", 255, s.f_namelen);
    printf("blocks %llu free %llu files %llu ffree %llu\n", (unsigned long long)s.f_blocks,
           (unsigned long long)s.f_bfree, (unsigned long long)s.f_files, (unsigned long long)s.f_ffree);
    int fd = open("/grow", O_CREAT | O_RDWR, 0644);
    static char buf[40960];
    write(fd, buf, sizeof buf);
    struct statfs t;
    check_eq("fstatfs the new file", 0, fstatfs(fd, &t));
    check_eq("same file system", 0xEF53, t.f_type);
    check_eq("ten blocks fewer free", (long long)s.f_bfree - 10, (long long)t.f_bfree);
    check_eq("one inode fewer free", (long long)s.f_ffree - 1, (long long)t.f_ffree);
    check_eq("statfs /proc is procfs", 0, statfs("/proc", &t));
    check_eq("proc magic", 0x9fa0, t.f_type);
    errno = 0;
    check_eq("statfs of a missing path", -1, statfs("/nope", &t));
    check_eq("... ENOENT", ENOENT, errno);
    check_eq("fstatfs of a bad fd", -1, fstatfs(55, &t));
    check_eq("... EBADF", EBADF, errno);
    close(fd);
    end();
}
