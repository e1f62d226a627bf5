/* killcmd.h: the kill command, shared by /bin/kill and the shell's built-in kill.
 *   kill [-SIG | -N | -s SIG] pid...    (default SIGTERM; SIG is a name like INT or SIGINT)
 *   kill -l                             list the signal names
 * A negative pid (after the signal, or after "--") means that whole process group; -1
 * means every process but init, the caller and the kernel's servers (kill(2)). */
#ifndef KILLCMD_H
#define KILLCMD_H
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; int number; } signals[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT}, {"BUS", SIGBUS}, {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"WINCH", SIGWINCH}, {"SYS", SIGSYS},
};
#define NSIGNALS (int)(sizeof signals / sizeof signals[0])

/* "9", "KILL", "SIGKILL", "kill" -> 9; -1 if unknown. */
static int parse_signal(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && *end == 0)
        return n >= 0 && n < 65 ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 0; i < NSIGNALS; i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].number;
    return -1;
}

/* kill's whole job: /bin/kill's main, and the shell's built-in kill, which works when
 * the process table is full (a fork bomb) and no /bin/kill could be started. */
static int kill_command(int argc, char **argv)
{
    int sig = SIGTERM, i = 1;
    if (i < argc && strcmp(argv[i], "-l") == 0) {
        for (int j = 0; j < NSIGNALS; j++)
            printf("%2d %s\n", signals[j].number, signals[j].name);
        fflush(stdout);
        return 0;
    }
    if (i < argc && strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
        sig = parse_signal(argv[i + 1]);
        i += 2;
    } else if (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
        sig = parse_signal(argv[i] + 1);
        i++;
    }
    if (sig < 0) {
        fprintf(stderr, "kill: %s: unknown signal\n", argv[i - 1]);
        return 1;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i == argc) {
        fprintf(stderr, "usage: kill [-SIG | -N | -s SIG] pid...\n");
        return 1;
    }
    int status = 0;
    for (; i < argc; i++) {
        char *end;
        long pid = strtol(argv[i], &end, 10);
        if (*argv[i] == 0 || *end != 0) {
            fprintf(stderr, "kill: %s: not a process id\n", argv[i]);
            status = 1;
        } else if (kill((pid_t)pid, sig) < 0) {
            fprintf(stderr, "kill: (%ld): %s\n", pid, strerror(errno));
            status = 1;
        }
    }
    return status;
}

#endif
