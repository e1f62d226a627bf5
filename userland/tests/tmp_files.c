/* /tmp is a writable file system in memory (tmpfs), disk or not: files, directories,
 * symlinks, rename, unlink while open, truncate, mmap; /dev/shm is one too. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>

static int err(long r) { return r < 0 ? -errno : (int)r; }

int main(void)
{
    begin("tmp_files");
    char buf[64] = {0};
    int fd = open("/tmp/a", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check("create /tmp/a", fd >= 0);
    check_eq("write", 11, write(fd, "hello, tmp!", 11));
    check_eq("pread at 7 stops at the end", 4, pread(fd, buf, 5, 7));
    check("pread reads what was written", memcmp(buf, "tmp!", 4) == 0);
    check_eq("mkdir /tmp/d", 0, err(mkdir("/tmp/d", 0755)));
    check_eq("rename /tmp/a to /tmp/d/b", 0, err(rename("/tmp/a", "/tmp/d/b")));
    check_eq("the old name is gone", -ENOENT, err(open("/tmp/a", O_RDONLY)));
    check_eq("unlink the open file", 0, err(unlink("/tmp/d/b")));
    memset(buf, 0, sizeof buf);
    check_eq("its data stays readable through the descriptor", 11, pread(fd, buf, 64, 0));
    check("and is what was written", strcmp(buf, "hello, tmp!") == 0);
    close(fd);
    check_eq("rmdir the empty directory", 0, err(rmdir("/tmp/d")));

    check_eq("symlink", 0, err(symlink("/tmp/target", "/tmp/link")));
    check_eq("O_CREAT|O_EXCL on a symlink is EEXIST", -EEXIST,
             err(open("/tmp/link", O_CREAT | O_EXCL | O_WRONLY, 0644)));
    fd = open("/tmp/link", O_CREAT | O_WRONLY, 0644);
    check("O_CREAT through a dangling symlink creates its target", fd >= 0 && access("/tmp/target", F_OK) == 0);
    check_eq("write the target", 4, write(fd, "data", 4));
    close(fd);
    long n = readlink("/tmp/link", buf, sizeof buf);
    check("readlink gives the target", n == 11 && memcmp(buf, "/tmp/target", 11) == 0);
    struct stat st;
    check_eq("stat follows the link", 4, stat("/tmp/link", &st) == 0 ? st.st_size : -1);
    check("lstat does not", lstat("/tmp/link", &st) == 0 && S_ISLNK(st.st_mode));
    check_eq("O_NOFOLLOW on a link is ELOOP", -ELOOP, err(open("/tmp/link", O_RDONLY | O_NOFOLLOW)));
    symlink("/tmp/loop2", "/tmp/loop1");
    symlink("/tmp/loop1", "/tmp/loop2");
    check_eq("a symlink loop is ELOOP", -ELOOP, err(open("/tmp/loop1", O_RDONLY)));
    check_eq("target/ is ENOTDIR", -ENOTDIR, err(open("/tmp/target/", O_RDONLY)));

    check_eq("truncate", 0, err(truncate("/tmp/target", 8192)));
    fd = open("/tmp/target", O_RDONLY);
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("mmap MAP_PRIVATE", map != MAP_FAILED);
    check("its first bytes are the file's", memcmp(map, "data", 4) == 0 && map[4000] == 0);
    map[0] = 'D';
    pread(fd, buf, 4, 0);
    check("a private write leaves the file alone", memcmp(buf, "data", 4) == 0);
    close(fd);
    fd = open("/tmp/target", O_RDWR);
    char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap MAP_SHARED", shared != MAP_FAILED);
    memcpy(shared + 4096, "via the map", 11);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 11, 4096);
    check("a shared write is in the file", memcmp(buf, "via the map", 11) == 0);
    pwrite(fd, "DATA", 4, 0);
    check("a write to the file is in the shared map", memcmp(shared, "DATA", 4) == 0);
    check_eq("munmap", 0, munmap(shared, 8192));
    close(fd);

    fd = open("/dev/shm/seg", O_CREAT | O_RDWR, 0600);
    check("/dev/shm is writable", fd >= 0 && write(fd, "x", 1) == 1);
    DIR *d = opendir("/tmp");
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        seen += strcmp(e->d_name, "target") == 0 || strcmp(e->d_name, "link") == 0;
    closedir(d);
    check_eq("readdir lists target and link", 2, seen);
    struct stat root_st;
    check("/tmp is another device than /", stat("/", &root_st) == 0 && stat("/tmp", &st) == 0 &&
          st.st_dev != root_st.st_dev);
    check_eq("rmdir /tmp (a mount point) is EBUSY", -EBUSY, err(rmdir("/tmp")));
    check_eq("rmdir / is EBUSY", -EBUSY, err(rmdir("/")));
    check_eq("unlink \"\" is ENOENT", -ENOENT, err(unlink("")));
    end();
}
