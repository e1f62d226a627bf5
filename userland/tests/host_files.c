/* The host's tree without a disk (hostfs): a file in the directory ukern was started in
 * is found by a relative path, /etc/passwd by an absolute one, the working directory is
 * the host's, /proc/self/exe names this program, and every change is EROFS unless ukern
 * runs with --rw (the host file stays as it was).
 *   host_files ro FILE CONTENT CWD EXE     read-only checks
 *   host_files rw NEWFILE                   --rw: create, write, rename, mkdir on the host */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

static int err(long r) { return r < 0 ? -errno : (int)r; }

static void read_only(const char *file, const char *content, const char *cwd, const char *exe)
{
    char buf[4096];
    int fd = open(file, O_RDONLY);
    check("open a host file by a relative path", fd >= 0);
    long n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    check("its content is the host file's", strcmp(buf, content) == 0);
    struct stat st;
    check_eq("fstat gives its size", (long)strlen(content), fstat(fd, &st) == 0 ? st.st_size : -1);
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("mmap MAP_PRIVATE of a host file", map != MAP_FAILED);
    check("the mapping holds the file", memcmp(map, content, strlen(content)) == 0);
    map[0] = '#';
    check("a private write stays private", pread(fd, buf, 1, 0) == 1 && buf[0] == content[0]);
    char *shared = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    check("mmap MAP_SHARED read-only", shared != MAP_FAILED && memcmp(shared, content, strlen(content)) == 0);
    check("MAP_SHARED writable on a read-only descriptor is EACCES",
          mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES);
    close(fd);

    fd = open("/etc/passwd", O_RDONLY);
    check("open /etc/passwd", fd >= 0);
    n = read(fd, buf, 5);
    check("/etc/passwd begins with root:", n == 5 && memcmp(buf, "root:", 5) == 0);
    close(fd);

    check("getcwd is the host's working directory", getcwd(buf, sizeof buf) && strcmp(buf, cwd) == 0);
    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    check("readlink /proc/self/exe is this program", strcmp(buf, exe) == 0);

    check_eq("open for writing is EROFS", -EROFS, err(open(file, O_WRONLY)));
    check_eq("open O_RDWR is EROFS", -EROFS, err(open(file, O_RDWR)));
    check_eq("create is EROFS", -EROFS, err(open("ukern-new-file", O_CREAT | O_WRONLY, 0644)));
    check_eq("unlink is EROFS", -EROFS, err(unlink(file)));
    check_eq("mkdir is EROFS", -EROFS, err(mkdir("ukern-new-dir", 0755)));
    check_eq("rename is EROFS", -EROFS, err(rename(file, "ukern-renamed")));
    check_eq("truncate is EROFS", -EROFS, err(truncate(file, 0)));

    snprintf(buf, sizeof buf, "%s/", file);
    check_eq("a file used as a directory is ENOTDIR", -ENOTDIR, err(open(buf, O_RDONLY)));
    snprintf(buf, sizeof buf, "%s/x", file);
    check_eq("a name under a file is ENOTDIR", -ENOTDIR, err(open(buf, O_RDONLY)));
    memset(buf, 'a', 256);
    buf[256] = 0;
    check_eq("a 256-byte name is ENAMETOOLONG", -ENAMETOOLONG, err(open(buf, O_RDONLY)));
    check_eq("/.. is /", 0, err(stat("/../etc/passwd", &st)));
}

static void read_write(const char *name)
{
    int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
    check("create a host file with --rw", fd >= 0);
    check_eq("write to it", 20, write(fd, "written by the guest", 20));
    close(fd);
    char renamed[512];
    snprintf(renamed, sizeof renamed, "%s.moved", name);
    check_eq("rename it", 0, err(rename(name, renamed)));
    snprintf(renamed, sizeof renamed, "%s.dir", name);
    check_eq("mkdir", 0, err(mkdir(renamed, 0755)));
}

int main(int argc, char **argv)
{
    begin("host_files");
    if (argc == 6 && strcmp(argv[1], "ro") == 0)
        read_only(argv[2], argv[3], argv[4], argv[5]);
    else if (argc == 3 && strcmp(argv[1], "rw") == 0)
        read_write(argv[2]);
    else
        fail("usage: host_files ro FILE CONTENT CWD EXE | rw NEWFILE");
    end();
}
