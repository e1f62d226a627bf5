/* exec of a program file far larger than any real one (here a sparse 4 GiB file, as a
 * corrupt inode size would make /bin/ls look): refused at once with ENOMEM, never read
 * whole into memory. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    begin("exec_huge");
    int fd = open("/tmp/huge", O_CREAT | O_WRONLY | O_TRUNC, 0755);
    check("create /tmp/huge", fd >= 0);
    check_eq("write an ELF magic", 4, write(fd, "\177ELF", 4));
    check_eq("ftruncate to 4 GiB", 0, ftruncate(fd, 4L << 30));
    close(fd);
    char *argv[] = {"huge", 0};
    check_eq("execve fails", -1, execve("/tmp/huge", argv, 0));
    check_eq("with ENOMEM", ENOMEM, errno);
    check_eq("unlink", 0, unlink("/tmp/huge"));
    end();
}
