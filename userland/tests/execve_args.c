/* execve passes argv and envp to the new program (here /bin/echoargs, which prints them;
 * its output comes back through a pipe); a descriptor marked close-on-exec is closed in
 * the new image, while one without the flag stays open.
 *   execve_args [path-of-echoargs]        (default /bin/echoargs) */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

/* Run path with argv/envp, its standard output into a pipe; return what it printed. */
static char *run(const char *path, char *const argv[], char *const envp[], int *status)
{
    static char out[4096];
    int p[2];
    if (pipe(p) < 0)
        fail("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execve(path, argv, envp);
        _exit(127);
    }
    close(p[1]);
    long got = 0, n;
    while ((n = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += n;
    out[got] = 0;
    close(p[0]);
    waitpid(pid, status, 0);
    return out;
}

/* In the new image (started as "execve_args --child CLOEXEC_FD PLAIN_FD"): report
 * whether each descriptor is open. */
static int child_mode(int cloexec_fd, int plain_fd)
{
    int closed = fcntl(cloexec_fd, F_GETFD) < 0 && errno == EBADF;
    int open_ = fcntl(plain_fd, F_GETFD) >= 0;
    printf("cloexec fd %s\nplain fd %s\n", closed ? "closed" : "OPEN", open_ ? "open" : "CLOSED");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child_mode(atoi(argv[2]), atoi(argv[3]));
    const char *echoargs = argc > 1 ? argv[1] : "/bin/echoargs";
    begin("execve_args");

    char *args[] = {"echoargs", "one", "two words", "", NULL};
    char *env[] = {"A=1", "B=two", NULL};
    int st;
    char *out = run(echoargs, args, env, &st);
    check_eq("echoargs exit status", 0, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    const char *expected = "argc=4\nargv[0]=echoargs\nargv[1]=one\nargv[2]=two words\nargv[3]=\n"
                           "env A=1\nenv B=two\n";
    if (strcmp(out, expected) != 0)
        fail("echoargs printed:\n%s---\nexpected:\n%s---", out, expected);
    msg("echoargs printed its argv and envp exactly");

    /* The same program again, in --child mode, with two extra descriptors. */
    const char *self = access(argv[0], X_OK) == 0 ? argv[0] : "/tests/execve_args";
    int cloexec_fd = open("/", O_RDONLY | O_CLOEXEC);
    int plain_fd = open("/", O_RDONLY);
    check("two descriptors opened", cloexec_fd >= 0 && plain_fd >= 0);
    check_eq("FD_CLOEXEC is set on the O_CLOEXEC one", FD_CLOEXEC, fcntl(cloexec_fd, F_GETFD));
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", cloexec_fd);
    snprintf(a2, sizeof a2, "%d", plain_fd);
    char *child_args[] = {(char *)self, "--child", a1, a2, NULL};
    out = run(self, child_args, env, &st);
    check_eq("child exit status", 0, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    check("close-on-exec descriptor is closed in the new image", strstr(out, "cloexec fd closed") != NULL);
    check("the other descriptor is still open", strstr(out, "plain fd open") != NULL);

    char *none[] = {"nothing", NULL};
    errno = 0;
    check_eq("execve of a missing file returns -1", -1, execve("/no/such/program", none, env));
    check_eq("errno ENOENT", ENOENT, errno);
    end();
}
