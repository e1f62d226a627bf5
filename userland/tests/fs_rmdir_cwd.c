/* Creating in a removed directory: the working directory was rmdir'ed, so a new name in it
 * is ENOENT, as on Linux. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_rmdir_cwd");
    check_eq("mkdir /gone", 0, err(mkdir("/gone", 0755)));
    check_eq("chdir /gone", 0, err(chdir("/gone")));
    check_eq("rmdir it from inside", 0, err(rmdir("/gone")));
    check_eq("create a file in it: ENOENT", ENOENT, err(open("f", O_CREAT | O_WRONLY, 0644)));
    check_eq("mkdir in it: ENOENT", ENOENT, err(mkdir("sub", 0755)));
    check_eq("symlink in it: ENOENT", ENOENT, err(symlink("x", "l")));
    end();
}
