/* The file-metadata calls on every file system of the mount table, not only ext2: chmod,
 * chown and utimensat on a tmpfs file, flock between two open files of it, a FIFO made
 * with mkfifo in /tmp, statfs naming each file system's type, EROFS from /proc, and the
 * working directory: a thread's chdir moves the other threads too (CLONE_FS), a forked
 * child's does not move its parent.  Thread-self and self name the same program. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

static int err(int r) { return r < 0 ? errno : 0; }

static long fs_type(const char *path)
{
    struct statfs s;
    return statfs(path, &s) < 0 ? -errno : (long)s.f_type;
}

static void *chdir_to_tmp(void *arg)
{
    (void)arg;
    return (void *)(long)chdir("/tmp/d");
}

int main(void)
{
    begin("vfs_meta");
    int fd = open("/tmp/f", O_CREAT | O_RDWR, 0600);
    check("create /tmp/f", fd >= 0);
    struct stat st;
    check_eq("chmod 0741", 0, err(chmod("/tmp/f", 0741)));
    check_eq("fchown 12:34", 0, err(fchown(fd, 12, 34)));
    struct timespec times[2] = {{.tv_sec = 1000, .tv_nsec = 0}, {.tv_sec = 123456, .tv_nsec = 0}};
    check_eq("utimensat mtime", 0, err(utimensat(AT_FDCWD, "/tmp/f", times, 0)));
    fstat(fd, &st);
    check_eq("stat: the mode", 0741, st.st_mode & 07777);
    check_eq("stat: the owner", 12, st.st_uid);
    check_eq("stat: the group", 34, st.st_gid);
    check_eq("stat: the mtime", 123456, st.st_mtime);

    int other = open("/tmp/f", O_RDONLY);
    check_eq("flock LOCK_EX", 0, err(flock(fd, LOCK_EX)));
    check_eq("another open file: EWOULDBLOCK", EWOULDBLOCK, err(flock(other, LOCK_SH | LOCK_NB)));
    close(fd);
    check_eq("the last close unlocked it", 0, err(flock(other, LOCK_SH | LOCK_NB)));

    check_eq("mkfifo /tmp/fifo", 0, err(mkfifo("/tmp/fifo", 0600)));
    stat("/tmp/fifo", &st);
    check("it is a FIFO", S_ISFIFO(st.st_mode));
    pid_t child = fork();
    if (child == 0) {
        int w = open("/tmp/fifo", O_WRONLY);
        _exit(write(w, "through", 7) == 7 ? 0 : 1);
    }
    int r = open("/tmp/fifo", O_RDONLY);
    char buf[16] = {0};
    check_eq("read what the child wrote", 7, read(r, buf, sizeof buf));
    check("... the same bytes", memcmp(buf, "through", 7) == 0);
    int status;
    waitpid(child, &status, 0);

    check_eq("statfs /proc: PROC_SUPER_MAGIC", 0x9FA0, fs_type("/proc"));
    check_eq("statfs /tmp: TMPFS_MAGIC", 0x01021994, fs_type("/tmp"));
    check_eq("statfs of a missing name: ENOENT", -ENOENT, fs_type("/tmp/nothing"));
    check_eq("chmod in /proc: EROFS", EROFS, err(chmod("/proc/meminfo", 0600)));

    mkdir("/tmp/d", 0755);
    child = fork();
    if (child == 0)
        _exit(chdir("/tmp/d") == 0 ? 0 : 1);
    waitpid(child, &status, 0);
    char cwd[64];
    getcwd(cwd, sizeof cwd);
    check("a child's chdir leaves the parent where it was", strcmp(cwd, "/tmp/d") != 0);
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, chdir_to_tmp, NULL);
    pthread_join(t, &ret);
    check_eq("a thread's chdir", 0, (long)ret);
    getcwd(cwd, sizeof cwd);
    check("... moves the whole process", strcmp(cwd, "/tmp/d") == 0);

    char self[128] = {0}, thread[128] = {0};
    readlink("/proc/self/exe", self, sizeof self - 1);
    readlink("/proc/thread-self/exe", thread, sizeof thread - 1);
    check("/proc/thread-self/exe is /proc/self/exe", self[0] == '/' && strcmp(self, thread) == 0);
    end();
}
