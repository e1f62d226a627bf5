/* mknod and mknodat: a FIFO that carries bytes from a writer to a reader opened by name,
 * a character device node that opens its driver, and the errors. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_mknod");
    check_eq("mkfifo /fifo", 0, err(mkfifo("/fifo", 0644)));
    struct stat st;
    stat("/fifo", &st);
    check_eq("stat: S_IFIFO", S_IFIFO, st.st_mode & S_IFMT);
    check_eq("mkfifo again: EEXIST", EEXIST, err(mkfifo("/fifo", 0644)));
    errno = 0;
    check_eq("open for writing, O_NONBLOCK, no reader", -1, open("/fifo", O_WRONLY | O_NONBLOCK));
    check_eq("... ENXIO", ENXIO, errno);
    pid_t pid = fork();
    if (pid == 0) {
        int w = open("/fifo", O_WRONLY);       /* waits for the reader */
        write(w, "through the fifo", 16);
        close(w);
        _exit(0);
    }
    int r = open("/fifo", O_RDONLY);           /* waits for the writer */
    check("the reader opened", r >= 0);
    char buf[32] = {0};
    int n = 0, got;
    while ((got = read(r, buf + n, sizeof buf - 1 - n)) > 0)
        n += got;
    check_eq("read everything, then end of file", 16, n);
    check("the bytes", strcmp(buf, "through the fifo") == 0);
    close(r);
    waitpid(pid, NULL, 0);

    check_eq("mknodat a character device 1,3 (null)", 0,
             err(mknodat(AT_FDCWD, "/mynull", S_IFCHR | 0666, makedev(1, 3))));
    stat("/mynull", &st);
    check_eq("S_IFCHR", S_IFCHR, st.st_mode & S_IFMT);
    check_eq("major 1", 1, major(st.st_rdev));
    check_eq("minor 3", 3, minor(st.st_rdev));
    int fd = open("/mynull", O_WRONLY);
    check_eq("it writes like /dev/null", 5, write(fd, "12345", 5));
    close(fd);
    check_eq("mknod a plain file (type 0)", 0, err(mknod("/plain", 0644, 0)));
    stat("/plain", &st);
    check_eq("S_IFREG", S_IFREG, st.st_mode & S_IFMT);
    check_eq("mknod a directory: EPERM", EPERM, err(mknod("/dir", S_IFDIR | 0755, 0)));
    check_eq("a bad type: EINVAL", EINVAL, err(mknod("/bad", 0170000 | 0644, 0)));
    end();
}
