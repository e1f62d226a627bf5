/* /proc/self/stat has Linux's 52 fields: they parse as ps parses them, and say true
 * things (pid, state, ppid, faults, vsize, rss, start time). */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
    begin("misc_proc_stat");
    char buf[2048];
    volatile char *touched = malloc(20 * 4096);     /* 20 faults at least */
    for (int i = 19; i >= 0; i--)                   /* top down: no fault-around */
        touched[i * 4096] = 1;
    int fd = open("/proc/self/stat", O_RDONLY);
    check("open /proc/self/stat", fd >= 0);
    int n = read(fd, buf, sizeof buf - 1);
    check("read it", n > 0);
    buf[n] = 0;
    check("ends with a newline", buf[n - 1] == '\n');
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    check("the name in parentheses", open_paren && close_paren && close_paren > open_paren);
    check("... is the program's", strncmp(open_paren + 1, "misc_proc_stat", 14) == 0);
    check_eq("pid before it", getpid(), atoi(buf));
    /* the fields after the name, as ps reads them */
    char state;
    long f[60];
    int got = sscanf(close_paren + 2, "%c", &state);
    char *rest = close_paren + 4;
    int fields = 3;                       /* pid, comm, state */
    for (char *tok = strtok(rest, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (fields - 3 < 60)
            f[fields - 3] = atol(tok);
        fields++;
    }
    check_eq("state parsed", 1, got);
    check_eq("52 fields", 52, fields);
    check_eq("state R", 'R', state);
    check_eq("ppid (field 4)", getppid(), f[0]);
    check_eq("pgrp (field 5)", getpgrp(), f[1]);
    check("minflt (field 10) counts the 20 faults", f[6] >= 20);
    check("vsize (field 23) in bytes", f[19] > 100000);
    check("rss (field 24) in pages", f[20] > 5 && f[20] < 100000);
    check_eq("exit_signal (field 38) SIGCHLD", 17, f[34]);
    check_eq("nice (field 19)", 0, f[15]);
    check_eq("threads (field 20)", 1, f[16]);
    end();
}
