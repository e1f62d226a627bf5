/* umask: returns the old mask, and takes its bits away from open, mkdir and mknod;
 * a child inherits it. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

int main(void)
{
    begin("fs_umask");
    check_eq("the first umask is 022", 022, umask(027));
    check_eq("umask returns the one set", 027, umask(027));
    close(open("/um-file", O_CREAT | O_WRONLY, 0666));
    check_eq("open(0666) under 027 gives 0640", 0640, mode_of("/um-file"));
    mkdir("/um-dir", 0777);
    check_eq("mkdir(0777) gives 0750", 0750, mode_of("/um-dir"));
    mknod("/um-fifo", S_IFIFO | 0666, 0);
    check_eq("mknod fifo(0666) gives 0640", 0640, mode_of("/um-fifo"));
    close(creat("/um-creat", 0777));
    check_eq("creat(0777) gives 0750", 0750, mode_of("/um-creat"));
    pid_t pid = fork();
    if (pid == 0)
        _exit(umask(0));
    int status;
    waitpid(pid, &status, 0);
    check_eq("the child inherits 027", 027, WEXITSTATUS(status));
    end();
}
