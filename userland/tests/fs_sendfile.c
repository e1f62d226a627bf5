/* sendfile: from a file to a file, to a pipe and to the console, with and without an
 * offset pointer. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/sendfile.h>

static char buf[100000];

int main(void)
{
    begin("fs_sendfile");
    int src = open("/sf-src", O_CREAT | O_RDWR, 0644);
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = 'a' + i % 26;
    write(src, buf, sizeof buf);
    lseek(src, 0, SEEK_SET);
    int dst = open("/sf-dst", O_CREAT | O_RDWR | O_TRUNC, 0644);
    check_eq("sendfile the whole file", (long)sizeof buf, sendfile(dst, src, NULL, sizeof buf + 10));
    check_eq("the source offset moved to the end", (long)sizeof buf, lseek(src, 0, SEEK_CUR));
    static char back[100000];
    check_eq("the copy has the size", (long)sizeof buf, pread(dst, back, sizeof back, 0));
    check("... and the bytes", memcmp(buf, back, sizeof buf) == 0);

    off_t off = 26 * 3 + 5;
    int p[2];
    pipe(p);
    check_eq("sendfile 10 bytes from offset 83 into a pipe", 10, sendfile(p[1], src, &off, 10));
    check_eq("the offset pointer advanced", 93, off);
    check_eq("the file offset did not move", (long)sizeof buf, lseek(src, 0, SEEK_CUR));
    char ten[11] = {0};
    read(p[0], ten, 10);
    check("the pipe got fghijklmno", strcmp(ten, "fghijklmno") == 0);
    off = 0;
    check_eq("sendfile to the console", 3, sendfile(1, src, &off, 3));
    printf("\n");
    check_eq("at end of file: 0", 0, sendfile(dst, src, NULL, 10));
    errno = 0;
    check_eq("from a pipe: EINVAL", -1, sendfile(dst, p[0], NULL, 10));
    check_eq("... errno", EINVAL, errno);
    check_eq("to a read-only fd: EBADF", -1, sendfile(open("/sf-src", O_RDONLY), src, NULL, 10));
    check_eq("... errno", EBADF, errno);
    end();
}
