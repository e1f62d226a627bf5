/* ps: list the processes.
 * Reads /proc: one directory per process, named by its pid, holding a file "stat" that
 * starts "pid ppid state name" (ukern), or "pid (name) state ppid ..." (Linux).
 *     PID  PPID S NAME
 *       1     0 S init */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proc {
    int pid, ppid;
    char state;
    char name[64];
};

/* Read /proc/PID/stat into p.  Returns 0, or -1 if the process went away meanwhile. */
static int read_stat(const char *pid, struct proc *p)
{
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *s = buf;
    p->pid = strtol(s, &s, 10);
    while (*s == ' ')
        s++;
    if (*s == '(') {                            /* Linux: (name) state ppid */
        char *paren = strrchr(s, ')');
        if (!paren)
            return -1;
        snprintf(p->name, sizeof p->name, "%.*s", (int)(paren - s - 1), s + 1);
        s = paren + 1;
        while (*s == ' ')
            s++;
        p->state = *s++;
        p->ppid = strtol(s, &s, 10);
        return 0;
    }
    p->ppid = strtol(s, &s, 10);                /* ukern: ppid state name */
    while (*s == ' ')
        s++;
    p->state = *s ? *s++ : '?';
    while (*s == ' ')
        s++;
    s[strcspn(s, "\n")] = 0;
    snprintf(p->name, sizeof p->name, "%s", s);
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    return ((const struct proc *)a)->pid - ((const struct proc *)b)->pid;
}

int main(void)
{
    DIR *d = opendir("/proc");
    if (!d) {
        fprintf(stderr, "ps: no /proc\n");
        return 1;
    }
    struct proc *procs = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;                           /* not a process */
        struct proc p;
        if (read_stat(e->d_name, &p) < 0)
            continue;
        procs = realloc(procs, (n + 1) * sizeof *procs);
        if (!procs) {
            fprintf(stderr, "ps: out of memory\n");
            return 1;
        }
        procs[n++] = p;
    }
    closedir(d);
    qsort(procs, n, sizeof *procs, by_pid);
    printf("%5s %5s %s %s\n", "PID", "PPID", "S", "NAME");
    for (int i = 0; i < n; i++)
        printf("%5d %5d %c %s\n", procs[i].pid, procs[i].ppid, procs[i].state, procs[i].name);
    free(procs);
    return 0;
}
