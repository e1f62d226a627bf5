/* A mapping outlives its file's name and descriptor: the blocks stay until the last
 * mapping goes (a forked child's copy counts too). */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>

static long long free_blocks(void)
{
    struct statfs s;
    statfs("/", &s);
    return s.f_bfree;
}

int main(void)
{
    begin("fs_unlink_mmap");
    long long before = free_blocks();
    int fd = open("/mapped", O_CREAT | O_RDWR, 0644);
    static char buf[16384];
    memset(buf, 'm', sizeof buf);
    write(fd, buf, sizeof buf);
    char *map = mmap(NULL, sizeof buf, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap the file", map != MAP_FAILED);
    close(fd);
    check_eq("unlink it", 0, unlink("/mapped"));
    check("blocks still in use while mapped", free_blocks() < before);
    check("the mapping reads the data", map[0] == 'm' && map[sizeof buf - 1] == 'm');
    map[100] = 'w';
    munmap(map + 4096, 4096);                /* split the mapping in two */
    pid_t pid = fork();
    if (pid == 0) {
        sleep(1);
        _exit(map[100] == 'w' ? 0 : 1);      /* the child's copy still maps it */
    }
    munmap(map, sizeof buf);
    check("blocks still in use while the child maps them", free_blocks() < before);
    int status;
    waitpid(pid, &status, 0);
    check_eq("the child read the mapping", 0, WEXITSTATUS(status));
    check_eq("free blocks back after the last mapping went", before, free_blocks());
    end();
}
