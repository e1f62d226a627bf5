/* --root DIR shows DIR as /: its files are at /, `..` from / stays at /, and a symlink to
 * an absolute path inside DIR means that path under DIR (never the host's).
 *   host_root    (DIR holds marker = "in the root", etc/only-here, and link -> /etc) */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static const char *slurp(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return "(cannot open)";
    long n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    return buf;
}

int main(void)
{
    begin("host_root");
    check("/marker is DIR/marker", strcmp(slurp("/marker"), "in the root") == 0);
    check("/../../marker is still DIR/marker", strcmp(slurp("/../../marker"), "in the root") == 0);
    check("/link/only-here goes through link -> /etc inside DIR",
          strcmp(slurp("/link/only-here"), "root etc") == 0);
    check_eq("chdir(\"..\") at /", 0, chdir(".."));
    char cwd[256];
    check("getcwd is / after it", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
    check("/etc/passwd is DIR's (it has none)", open("/etc/passwd", O_RDONLY) < 0 && errno == ENOENT);
    check("/proc is mounted over DIR", open("/proc/self/stat", O_RDONLY) >= 0);
    end();
}
