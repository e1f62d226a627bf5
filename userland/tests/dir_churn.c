/* dir_churn N [DIR]: create N empty files in one new directory, then unlink them all and
 * remove the directory; prints "dir_churn: N files" when done.  The directory benchmark
 * (bench/run.py) times it under ukern and natively: the time per file should not grow
 * with N. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    const char *dir = argc > 2 ? argv[2] : "/churn";
    char path[512];
    if (mkdir(dir, 0755) != 0) {
        perror("mkdir");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/file-%06d", dir, i);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        close(fd);
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/file-%06d", dir, i);
        if (unlink(path) != 0) {
            perror(path);
            return 1;
        }
    }
    if (rmdir(dir) != 0) {
        perror("rmdir");
        return 1;
    }
    printf("dir_churn: %d files\n", n);
    return 0;
}
