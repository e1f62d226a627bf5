/* execve through the VFS: a program on the host by its absolute path, /proc/self/exe
 * (how busybox runs its own applets), a `#!` script, and the errors: EACCES for a file
 * without an x bit, ENOEXEC for a dynamically linked program.
 *   host_exec ECHOARGS DYNAMIC       (absolute paths: echoargs, and a dynamic ELF) */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

static char out[4096];

/* Run path with argv; its output into `out`; the exit status, or -errno of execve. */
static int run(const char *path, char *const argv[])
{
    int p[2], e[2];
    pipe(p);
    pipe2(e, O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        execve(path, argv, (char *[]){NULL});
        int code = -errno;
        write(e[1], &code, sizeof code);
        _exit(127);
    }
    close(p[1]);
    close(e[1]);
    long got = 0, n;
    while ((n = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += n;
    out[got] = 0;
    close(p[0]);
    int code = 0, status;
    n = read(e[0], &code, sizeof code);
    close(e[0]);
    waitpid(pid, &status, 0);
    return n == sizeof code ? code : WEXITSTATUS(status);
}

static void make_file(const char *path, const char *content, int mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    write(fd, content, strlen(content));
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "again") == 0) {
        printf("run again through /proc/self/exe\n");
        return 0;
    }
    begin("host_exec");
    if (argc != 3)
        fail("usage: host_exec ECHOARGS DYNAMIC");
    check_eq("execve of a host program by absolute path", 0, run(argv[1], (char *[]){"echoargs", "x", NULL}));
    check("it ran with its arguments", strstr(out, "argv[1]=x") != NULL);
    check_eq("execve of /proc/self/exe", 0, run("/proc/self/exe", (char *[]){"host_exec", "again", NULL}));
    check("it ran this program again", strstr(out, "run again") != NULL);

    char script[512];
    snprintf(script, sizeof script, "#!%s  one arg \nignored\n", argv[1]);
    make_file("/tmp/script", script, 0755);
    check_eq("execve of a #! script", 0, run("/tmp/script", (char *[]){"script", "two", NULL}));
    char expect[1024];
    snprintf(expect, sizeof expect, "argc=4\nargv[0]=%s\nargv[1]=one arg\nargv[2]=/tmp/script\nargv[3]=two\n",
             argv[1]);
    check("the interpreter got argv as Linux builds it", strncmp(out, expect, strlen(expect)) == 0);

    make_file("/tmp/plain", "not a program\n", 0644);
    check_eq("a file without an x bit is EACCES", -EACCES, run("/tmp/plain", (char *[]){"plain", NULL}));
    check_eq("a directory is EACCES", -EACCES, run("/tmp", (char *[]){"tmp", NULL}));
    check_eq("a dynamically linked program is ENOEXEC", -ENOEXEC, run(argv[2], (char *[]){"dyn", NULL}));
    check_eq("a missing program is ENOENT", -ENOENT, run("/tmp/nothing", (char *[]){"x", NULL}));
    end();
}
