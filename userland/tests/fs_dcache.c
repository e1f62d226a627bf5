/* fs_dcache change | fs_dcache after: ext2's name cache keeps every kind of change to a
 * directory right.  "change" fills /dc over many blocks and changes it with unlink,
 * rename (plain, over a name, into another directory), link and rmdir, checking after
 * each what lookups and readdir say; "after" runs on the next boot (a fresh cache, read
 * from the disk) and checks the same names, then empties /dc and removes it. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define NFILES 600              /* 20-byte entries: three 4 KiB blocks */

struct dirent64_ { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; };

static char path[128];

static const char *at(const char *fmt, int i)
{
    snprintf(path, sizeof path, fmt, i);
    return path;
}

static long ino_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_ino : -errno;
}

static long nlink_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_nlink : -errno;
}

static long size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -errno;
}

/* Names in the directory, "." and ".." left out. */
static int count_entries(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY), n = 0;
    char buf[1024];
    long got;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long pos = 0; pos < got;) {
            struct dirent64_ *d = (struct dirent64_ *)(buf + pos);
            n += strcmp(d->name, ".") && strcmp(d->name, "..");
            pos += d->reclen;
        }
    close(fd);
    return n;
}

/* What both boots must see once "change" has run. */
static void check_final_state(void)
{
    int missing = 0, present = 0;
    for (int i = 0; i < NFILES; i++) {
        long ino = ino_of(at("/dc/f%04d", i));
        if (i % 2 == 0 || i == 1 || i == 3 || i == 7)
            missing += ino == -ENOENT;
        else
            present += ino > 0;
    }
    check_eq("the removed and renamed names are gone", NFILES / 2 + 3, missing);
    check_eq("the other names are there", NFILES / 2 - 3, present);
    check("the renamed file has its new name", ino_of("/dc/renamed") > 0);
    check_eq("the link outlived its first name", 1, nlink_of("/dc/link7"));
    char text[8] = "";
    int fd = open("/dc/f0005", O_RDONLY);
    check_eq("f0005 is the file renamed over it", 5, read(fd, text, sizeof text));
    check("it holds what f0003 held", memcmp(text, "three", 5) == 0);
    close(fd);
    check_eq("the moved directory's .. is its new parent", ino_of("/dc2"), ino_of("/dc2/moved/.."));
    check_eq("the removed directory is gone", -ENOENT, ino_of("/dc/sub"));
    check_eq("readdir sees every name", NFILES / 2 - 3 + 2, count_entries("/dc"));
}

static void change(void)
{
    check_eq("mkdir /dc", 0, mkdir("/dc", 0755));
    check_eq("mkdir /dc2", 0, mkdir("/dc2", 0755));
    for (int i = 0; i < NFILES; i++) {
        int fd = open(at("/dc/f%04d", i), O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0)
            fail("create %s: errno %d", path, errno);
        close(fd);
    }
    long full = size_of("/dc");
    check("the directory spans several blocks", full >= 3 * 4096);
    check_eq("creating an existing name is EEXIST", -1, open("/dc/f0042", O_CREAT | O_EXCL | O_WRONLY, 0644));
    check_eq("readdir sees every name", NFILES, count_entries("/dc"));

    for (int i = 0; i < NFILES; i += 2)
        unlink(at("/dc/f%04d", i));
    check_eq("an unlinked name is ENOENT", -ENOENT, ino_of("/dc/f0100"));
    check("its neighbour is still there", ino_of("/dc/f0101") > 0);

    long ino1 = ino_of("/dc/f0001");
    check_eq("rename", 0, rename("/dc/f0001", "/dc/renamed"));
    check_eq("the old name is gone", -ENOENT, ino_of("/dc/f0001"));
    check_eq("the new name is the same file", ino1, ino_of("/dc/renamed"));

    int fd = open("/dc/f0003", O_WRONLY);
    check_eq("write f0003", 5, write(fd, "three", 5));
    close(fd);
    long ino3 = ino_of("/dc/f0003");
    check_eq("rename over an existing name", 0, rename("/dc/f0003", "/dc/f0005"));
    check_eq("the source name is gone", -ENOENT, ino_of("/dc/f0003"));
    check_eq("the target name is the moved file", ino3, ino_of("/dc/f0005"));

    check_eq("link", 0, link("/dc/f0007", "/dc/link7"));
    check_eq("both names are one file", ino_of("/dc/f0007"), ino_of("/dc/link7"));
    check_eq("unlink the first name", 0, unlink("/dc/f0007"));
    check_eq("the link stays", 1, nlink_of("/dc/link7"));

    check_eq("mkdir /dc/sub", 0, mkdir("/dc/sub", 0755));
    close(open("/dc/sub/x", O_CREAT | O_WRONLY, 0644));
    check_eq("rmdir of a non-empty directory", -1, rmdir("/dc/sub"));
    check_eq("is ENOTEMPTY", ENOTEMPTY, errno);
    check_eq("unlink /dc/sub/x", 0, unlink("/dc/sub/x"));
    check_eq("rmdir /dc/sub", 0, rmdir("/dc/sub"));
    check_eq("mkdir /dc/moved", 0, mkdir("/dc/moved", 0755));
    check_eq("move it to another directory", 0, rename("/dc/moved", "/dc2/moved"));

    /* refill the gaps the removals left: the directory must not grow */
    for (int i = 0; i < NFILES; i += 2)
        close(open(at("/dc/again%03d", i / 2), O_CREAT | O_WRONLY, 0644));
    check_eq("new names fill the freed gaps: no new block", full, size_of("/dc"));
    for (int i = 0; i < NFILES; i += 2)
        unlink(at("/dc/again%03d", i / 2));
    check_final_state();
}

static void after(void)
{
    check_final_state();
    int fd = open("/dc", O_RDONLY | O_DIRECTORY);
    char buf[512], name[300];
    long got;
    int removed = 0;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long pos = 0; pos < got;) {
            struct dirent64_ *d = (struct dirent64_ *)(buf + pos);
            if (strcmp(d->name, ".") && strcmp(d->name, "..")) {
                snprintf(name, sizeof name, "/dc/%s", d->name);
                removed += unlink(name) == 0;
            }
            pos += d->reclen;
        }
    close(fd);
    check_eq("every name removed while reading", NFILES / 2 - 3 + 2, removed);
    check_eq("rmdir /dc", 0, rmdir("/dc"));
    check_eq("rmdir /dc2/moved", 0, rmdir("/dc2/moved"));
    check_eq("rmdir /dc2", 0, rmdir("/dc2"));
}

int main(int argc, char **argv)
{
    begin("fs_dcache");
    if (argc > 1 && strcmp(argv[1], "after") == 0)
        after();
    else
        change();
    end();
}
