/* Leaves an unlinked file open and never exits: the machine is shut down under it (as a
 * crash would), with the inode on the orphan list.  The host then mounts again. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/statfs.h>

static char buf[256 * 1024];

int main(void)
{
    begin("fs_orphan");
    int fd = open("/orphan", O_CREAT | O_RDWR, 0644);
    memset(buf, 'o', sizeof buf);
    check_eq("write 256 KiB", (long)sizeof buf, write(fd, buf, sizeof buf));
    check_eq("unlink it, still open", 0, unlink("/orphan"));
    sync();
    msg("waiting forever with the file open");
    pause();
    end();
}
