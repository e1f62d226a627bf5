/* The crash-sweep workload (tests/test_crash.py, bench/crash.py): creates, appends,
 * truncates, renames and deletes files under /crash, calls fsync, and says on the
 * console, after each fsync, what is now durable.  The host cuts the power at some disk transfer (--power-fail N), then
 * checks the image against what was said before the cut.
 *
 *   crashload                   run the workload; each line it prints is one of
 *       durable NAME LEN SUM    NAME holds exactly LEN bytes whose FNV-1a sum is SUM
 *       prefix NAME LEN SUM     NAME holds at least LEN bytes, the first LEN summing SUM
 *       gone NAME               NAME is about to change or go: nothing is promised
 *   crashload check NAME:LEN:SUM:KIND ...
 *                               read each file back and say "ok NAME" or "BAD NAME ..."
 *                               (KIND is durable or prefix); exit 1 if any was bad
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS 16
#define MAX_FILE (96 * 1024)

static unsigned char buf[MAX_FILE];
static unsigned char logbuf[ROUNDS * 64];
static size_t loglen;

static unsigned fnv1a(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void die(const char *what)
{
    printf("crashload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + seed * 7 + (i >> 9));
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

static void say(const char *kind, const char *name, const unsigned char *p, size_t n)
{
    printf("%s %s %zu %u\n", kind, name, n, fnv1a(p, n));
}

static void sync_fd(int fd)
{
    if (fsync(fd) < 0)
        die("fsync");
}

/* A new file: written in three appends, fsynced, then renamed into place. */
static void make_file(const char *tmp, const char *final, size_t len, unsigned seed)
{
    fill(buf, len, seed);
    int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        die("open");
    size_t third = len / 3;
    write_all(fd, buf, third);
    write_all(fd, buf + third, third);
    write_all(fd, buf + 2 * third, len - 2 * third);
    sync_fd(fd);
    close(fd);
    if (rename(tmp, final) < 0)
        die("rename");
    int dir = open("/crash", O_RDONLY | O_DIRECTORY);
    sync_fd(dir);
    close(dir);
    say("durable", final, buf, len);
}

static void append_log(int log, int round)
{
    char line[64];
    int n = snprintf(line, sizeof line, "round %d done\n", round);
    memcpy(logbuf + loglen, line, (size_t)n);
    loglen += (size_t)n;
    write_all(log, (unsigned char *)line, (size_t)n);
    sync_fd(log);
    say("prefix", "/crash/log", logbuf, loglen);
}

static const size_t sizes[] = { 700, 5000, 13000, 60000, 1, 4096, MAX_FILE, 2500 };

static int workload(void)
{
    char tmp[64], final[64], old[64];
    if (mkdir("/crash", 0755) < 0 && errno != EEXIST)
        die("mkdir");
    int log = open("/crash/log", O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (log < 0)
        die("open log");
    for (int r = 0; r < ROUNDS; r++) {
        size_t len = sizes[r % (sizeof sizes / sizeof sizes[0])];
        snprintf(tmp, sizeof tmp, "/crash/tmp%d", r);
        snprintf(final, sizeof final, "/crash/f%d", r);
        make_file(tmp, final, len, (unsigned)r);
        append_log(log, r);
        if (r % 3 == 2) {                       /* delete an older file */
            snprintf(old, sizeof old, "/crash/f%d", r - 2);
            printf("gone %s\n", old);
            if (unlink(old) < 0)
                die("unlink");
        }
        if (r % 4 == 1) {                       /* append to this one, then fsync */
            fill(buf, len, (unsigned)r);
            say("prefix", final, buf, len);
            int fd = open(final, O_WRONLY | O_APPEND);
            if (fd < 0)
                die("open for append");
            size_t more = 3000 + (size_t)r * 100;
            fill(buf + len, more, 99);
            write_all(fd, buf + len, more);
            sync_fd(fd);
            close(fd);
            say("durable", final, buf, len + more);
        }
        if (r % 4 == 3) {                       /* a rename over an existing file */
            snprintf(old, sizeof old, "/crash/f%d", r - 1);
            printf("gone %s\n", old);
            fill(buf, 1500, 77);
            int fd = open("/crash/scratch", O_CREAT | O_TRUNC | O_WRONLY, 0644);
            if (fd < 0)
                die("open scratch");
            write_all(fd, buf, 1500);
            close(fd);
            if (rename("/crash/scratch", old) < 0)
                die("rename over");
        }
        if (r == 12) {                          /* cut a file short: its indirect block goes */
            fill(buf, 60000, 11);
            say("prefix", "/crash/f11", buf, 20000);
            int fd = open("/crash/f11", O_WRONLY);
            if (fd < 0 || ftruncate(fd, 20000) < 0)
                die("truncate");
            sync_fd(fd);
            close(fd);
            say("durable", "/crash/f11", buf, 20000);
        }
        if (r == 5) {                           /* a subdirectory, and a move out of it */
            if (mkdir("/crash/sub", 0755) < 0)
                die("mkdir sub");
            make_file("/crash/sub/t", "/crash/sub/a", 9000, 55);
            printf("gone /crash/sub/a\n");
            if (rename("/crash/sub/a", "/crash/moved") < 0)
                die("rename out");
            int dir = open("/crash", O_RDONLY | O_DIRECTORY);
            sync_fd(dir);
            close(dir);
            fill(buf, 9000, 55);
            say("durable", "/crash/moved", buf, 9000);
        }
    }
    close(log);
    printf("crashload: done\n");
    return 0;
}

/* NAME:LEN:SUM:KIND -> read NAME back and compare. */
static int check_one(char *spec)
{
    char *name = strtok(spec, ":"), *len_s = strtok(NULL, ":"), *sum_s = strtok(NULL, ":");
    char *kind = strtok(NULL, ":");
    if (!name || !len_s || !sum_s || !kind) {
        printf("BAD spec\n");
        return 0;
    }
    size_t len = strtoul(len_s, NULL, 10);
    unsigned sum = (unsigned)strtoul(sum_s, NULL, 10);
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        printf("BAD %s: %s\n", name, strerror(errno));
        return 0;
    }
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    if (got < 0 || (size_t)got < len || (!strcmp(kind, "durable") && (size_t)got != len)) {
        printf("BAD %s: %zd bytes, expected %s %zu\n", name, got, kind, len);
        return 0;
    }
    if (fnv1a(buf, len) != sum) {
        printf("BAD %s: sum %u, expected %u\n", name, fnv1a(buf, len), sum);
        return 0;
    }
    printf("ok %s\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && !strcmp(argv[1], "check")) {
        int good = 1;
        for (int i = 2; i < argc; i++)
            good &= check_one(argv[i]);
        return good ? 0 : 1;
    }
    return workload();
}
