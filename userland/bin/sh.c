/* sh: a small Unix shell.
 *
 *   sh                 read commands from standard input ("$ " prompt when it is a terminal)
 *   sh -c 'commands'   run one command string
 *   sh FILE            run a script
 *
 * What it understands:
 *   words      separated by blanks; 'single quotes' take everything literally; "double
 *              quotes" allow $ expansion and \" \\ \$; a backslash quotes the next character;
 *              an unfinished quote or a final backslash continues on the next line ("> ").
 *   $?         the status of the last command; also $$ (the shell's pid) and $NAME (from
 *              the environment).  A # at the start of a word begins a comment.
 *   a | b | c  a pipeline (any length); its status is the last command's
 *   < > >>     redirect standard input / output (>> appends)
 *   a ; b      one after another      a & b    a in the background (prints "[pid]")
 *   a && b     b only if a succeeded  a || b   b only if a failed
 *   built-ins  cd [dir], pwd, exit [n], wait
 * Other commands are looked up in $PATH (default /bin) and run with fork + execve, with the
 * environment the shell got.  Exit statuses: 127 command not found, 126 cannot execute,
 * 128+N killed by signal N (the shell prints e.g. "Segmentation fault", as bash does).
 *
 * Job control (when reading commands from standard input): every job gets its own process
 * group, and a foreground job is made the terminal's foreground group, so Ctrl-C (SIGINT
 * to that group) stops the job but not the shell, which ignores SIGINT itself.  Children
 * put the signal dispositions the shell changed back to the defaults before execve.
 * Scripts and sh -c do no job control: their commands stay in the shell's process group.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "killcmd.h"

#define MAXLINE  4096   /* one command line, continuation lines included */
#define MAXTOKS  512    /* words and operators in a line */
#define MAXCMDS  128    /* commands in a line (all pipelines together) */
#define MAXPIPES 64     /* pipelines in a line */
#define MAXARGS  128    /* words in one command */

extern char **environ;

/* ------------------------------------------------------------------ shell state */

static int last_status;         /* $? */
static int jobctl;              /* doing job control (process groups, terminal) */
static int interactive;         /* printing prompts */

/* The signals the shell ignores when doing job control; its children restore them. */
static const int job_signals[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define NJOBSIGS (int)(sizeof job_signals / sizeof job_signals[0])

/* ------------------------------------------------------------------ reading lines */

static int in_fd = 0;           /* where commands come from: stdin or a script */
static const char *in_str;      /* ... or the sh -c string, if not NULL */

/* Read one line (without its newline) into buf.  Returns its length, -1 at end of input,
 * -2 if the line was too long (the rest of it is skipped).  From a file descriptor it
 * reads one byte at a time, so it never takes input meant for the commands it runs
 * (think of `sh < script` where a command in the script reads standard input too). */
static int next_line(char *buf, int size)
{
    int len = 0, got_any = 0, too_long = 0;
    for (;;) {
        char c;
        if (in_str) {
            if (*in_str == 0)
                break;
            c = *in_str++;
        } else {
            long n = read(in_fd, &c, 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
        }
        got_any = 1;
        if (c == '\n')
            break;
        if (len < size - 1)
            buf[len++] = c;
        else
            too_long = 1;
    }
    buf[len] = 0;
    if (!got_any)
        return -1;
    return too_long ? -2 : len;
}

/* ------------------------------------------------------------------ tokens */

enum { T_WORD, T_PIPE, T_OR, T_AMP, T_AND, T_SEMI, T_IN, T_OUT, T_APPEND, T_END };
static const char *tok_names[] = {"word", "|", "||", "&", "&&", ";", "<", ">", ">>", "end of line"};

struct token {
    int type;
    char *text;                 /* T_WORD: the word as typed, quotes and all */
};

static struct token toks[MAXTOKS + 1];
static char raw[2 * MAXLINE];   /* the words' text */

/* Split a line into words and operators.  Words keep their quotes: they are expanded
 * only when their command runs, so `false; echo $?` sees the status of false.
 * Returns 0, or 1 if the line ends inside quotes or after a backslash (read another
 * line and try again), or -1 if there are too many tokens. */
static int tokenize(const char *s)
{
    char *out = raw;
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (*s == 0 || *s == '#')           /* end of line, or a comment to its end */
            break;
        if (n == MAXTOKS)
            return -1;
        struct token *t = &toks[n++];
        t->text = NULL;
        /* operators: the two-character ones first */
        if (s[0] == '|' && s[1] == '|') { t->type = T_OR; s += 2; continue; }
        if (s[0] == '&' && s[1] == '&') { t->type = T_AND; s += 2; continue; }
        if (s[0] == '>' && s[1] == '>') { t->type = T_APPEND; s += 2; continue; }
        if (*s == '|') { t->type = T_PIPE; s++; continue; }
        if (*s == '&') { t->type = T_AMP; s++; continue; }
        if (*s == ';') { t->type = T_SEMI; s++; continue; }
        if (*s == '<') { t->type = T_IN; s++; continue; }
        if (*s == '>') { t->type = T_OUT; s++; continue; }
        /* a word: runs to the first blank or operator that is not quoted */
        t->type = T_WORD;
        t->text = out;
        while (*s && !strchr(" \t\n|&;<>", *s)) {
            if (*s == '\\') {                       /* backslash: take the next char too */
                *out++ = *s++;
                if (*s == 0)
                    return 1;
                *out++ = *s++;
            } else if (*s == '\'' || *s == '"') {   /* copy up to the closing quote */
                char q = *s;
                *out++ = *s++;
                while (*s && *s != q) {
                    if (q == '"' && *s == '\\' && s[1])
                        *out++ = *s++;              /* \" does not close "..." */
                    *out++ = *s++;
                }
                if (*s == 0)
                    return 1;
                *out++ = *s++;
            } else {
                *out++ = *s++;
            }
        }
        *out++ = 0;
    }
    toks[n].type = T_END;
    return 0;
}

/* ------------------------------------------------------------------ expansion */

static char xbuf[4 * MAXLINE];  /* expanded words of the pipeline being run */
static int xlen, xoverflow;

static void put(char c)
{
    if (xlen < (int)sizeof xbuf)
        xbuf[xlen++] = c;
    else
        xoverflow = 1;
}

static void put_str(const char *s)
{
    while (*s)
        put(*s++);
}

/* Expand the $ at w: $? $$ $NAME, or a lone $ stays itself.  Returns what follows. */
static const char *dollar(const char *w)
{
    char num[24];
    w++;
    if (*w == '?') {
        snprintf(num, sizeof num, "%d", last_status);
        put_str(num);
        return w + 1;
    }
    if (*w == '$') {
        snprintf(num, sizeof num, "%d", (int)getpid());
        put_str(num);
        return w + 1;
    }
    if (*w == '_' || (*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z')) {
        char name[128];
        int n = 0;
        while (*w == '_' || (*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || (*w >= '0' && *w <= '9')) {
            if (n < (int)sizeof name - 1)
                name[n++] = *w;
            w++;
        }
        name[n] = 0;
        const char *value = getenv(name);
        if (value)
            put_str(value);
        return w;
    }
    put('$');
    return w;
}

/* Turn a word as typed into its value: remove quotes and backslashes, expand $.
 * Returns NULL for a word that expands to nothing and had no quotes (like $UNSET),
 * which is then left out of the command, as other shells do. */
static char *expand(const char *w)
{
    char *start = xbuf + xlen;
    int quoted = 0;
    while (*w) {
        if (*w == '\'') {                       /* '...': everything literal */
            quoted = 1;
            for (w++; *w != '\''; w++)
                put(*w);
            w++;
        } else if (*w == '"') {                 /* "...": only \ and $ are special */
            quoted = 1;
            w++;
            while (*w != '"') {
                if (*w == '\\' && strchr("\"\\$`\n", w[1])) {
                    if (w[1] != '\n')           /* backslash-newline: both vanish */
                        put(w[1]);
                    w += 2;
                } else if (*w == '$') {
                    w = dollar(w);
                } else {
                    put(*w++);
                }
            }
            w++;
        } else if (*w == '\\') {                /* \c: c itself */
            if (w[1] != '\n') {
                put(w[1]);
                quoted = 1;
            }
            w += 2;
        } else if (*w == '$') {
            w = dollar(w);
        } else {
            put(*w++);
        }
    }
    put(0);
    if (xoverflow)
        return NULL;
    return *start || quoted ? start : NULL;
}

/* ------------------------------------------------------------------ parsing */

struct cmd {
    char *words[MAXARGS];       /* as typed */
    int nwords;
    char *in, *out;             /* redirections as typed, or NULL */
    int append;                 /* >> rather than > */
    char *argv[MAXARGS + 1];    /* expanded, NULL-terminated */
    int argc;
    char *in_path, *out_path;   /* expanded redirections */
};

struct pipeline {
    int first, n;               /* its commands: cmds[first .. first+n-1] */
    int term;                   /* what ends it: T_SEMI, T_AMP, T_AND, T_OR or T_END */
};

static struct cmd cmds[MAXCMDS];
static struct pipeline pipes[MAXPIPES];
static int npipes;

static int syntax_error(int i)
{
    fprintf(stderr, "sh: syntax error near %s\n", tok_names[toks[i].type]);
    return -1;
}

/* Group the tokens into pipelines of commands.  Returns 0, or -1 after a message. */
static int parse(void)
{
    int i = 0, ncmds = 0;
    npipes = 0;
    while (toks[i].type != T_END) {
        if (npipes == MAXPIPES) {
            fprintf(stderr, "sh: too many commands in a line\n");
            return -1;
        }
        struct pipeline *p = &pipes[npipes++];
        p->first = ncmds;
        p->n = 0;
        for (;;) {                              /* one command of the pipeline */
            if (ncmds == MAXCMDS) {
                fprintf(stderr, "sh: too many commands in a line\n");
                return -1;
            }
            struct cmd *c = &cmds[ncmds++];
            memset(c, 0, sizeof *c);
            for (;; i++) {
                int type = toks[i].type;
                if (type == T_WORD) {
                    if (c->nwords == MAXARGS) {
                        fprintf(stderr, "sh: too many arguments\n");
                        return -1;
                    }
                    c->words[c->nwords++] = toks[i].text;
                } else if (type == T_IN || type == T_OUT || type == T_APPEND) {
                    if (toks[i + 1].type != T_WORD)
                        return syntax_error(i + 1);
                    i++;
                    if (type == T_IN) {
                        c->in = toks[i].text;
                    } else {
                        c->out = toks[i].text;
                        c->append = type == T_APPEND;
                    }
                } else {
                    break;
                }
            }
            if (c->nwords == 0 && !c->in && !c->out)
                return syntax_error(i);         /* e.g. "| x", "a | | b", ";" */
            p->n++;
            if (toks[i].type != T_PIPE)
                break;
            i++;
        }
        p->term = toks[i].type;
        if (p->term != T_END)
            i++;
        if ((p->term == T_AND || p->term == T_OR) && toks[i].type == T_END)
            return syntax_error(i);             /* "a &&" with nothing after it */
    }
    return 0;
}

/* ------------------------------------------------------------------ running commands */

/* The message bash prints for a command killed by a signal (NULL: say nothing). */
static const char *signal_message(int sig)
{
    switch (sig) {
    case SIGHUP:  return "Hangup";
    case SIGQUIT: return "Quit";
    case SIGILL:  return "Illegal instruction";
    case SIGTRAP: return "Trace/breakpoint trap";
    case SIGABRT: return "Aborted";
    case SIGBUS:  return "Bus error";
    case SIGFPE:  return "Floating point exception";
    case SIGKILL: return "Killed";
    case SIGUSR1: return "User defined signal 1";
    case SIGUSR2: return "User defined signal 2";
    case SIGSEGV: return "Segmentation fault";
    case SIGALRM: return "Alarm clock";
    case SIGTERM: return "Terminated";
    case SIGSYS:  return "Bad system call";
    case SIGINT:  return NULL;                  /* Ctrl-C: the console echoed "^C" already */
    case SIGPIPE: return NULL;                  /* normal in `yes | head` */
    default:      return "Killed by a signal";
    }
}

/* A wait status as a shell status: the exit code, or 128 + the signal number. */
static int decode_status(pid_t pid, int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        const char *m = signal_message(sig);
        if (m)
            fprintf(stderr, "%s\n", m);
        return 128 + sig;
    }
    if (WIFSTOPPED(st)) {                       /* Ctrl-Z: left stopped; `kill -CONT pid` */
        fprintf(stderr, "\n[%d] Stopped\n", (int)pid);
        return 128 + WSTOPSIG(st);
    }
    return 1;
}

/* Wait for one child to end (or, with job control, to stop). */
static int wait_child(pid_t pid)
{
    int st, flags = jobctl ? WUNTRACED : 0;
    for (;;) {
        if (waitpid(pid, &st, flags) == pid)
            return decode_status(pid, st);
        if (errno == EINVAL && flags) {         /* a kernel without WUNTRACED */
            flags = 0;
            continue;
        }
        if (errno != EINTR)
            return 1;
    }
}

/* Reap background jobs that have finished, without waiting for the others. */
static void reap_background(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        if (interactive)
            fprintf(stderr, "[%d] Done\n", (int)pid);
}

static int is_builtin(const char *name)
{
    return !strcmp(name, "cd") || !strcmp(name, "exit") || !strcmp(name, "pwd") || !strcmp(name, "wait")
        || !strcmp(name, "kill");       /* built in so that it works when fork does not */
}

/* Run a built-in command; returns its status (exit does not return). */
static int builtin(struct cmd *c)
{
    char **argv = c->argv;
    if (!strcmp(argv[0], "cd")) {
        if (c->argc > 2) {
            fprintf(stderr, "sh: cd: too many arguments\n");
            return 1;
        }
        const char *dir = c->argc > 1 ? argv[1] : getenv("HOME");
        if (!dir || !*dir)
            dir = "/";
        if (chdir(dir) < 0) {
            fprintf(stderr, "sh: cd: %s: %s\n", dir, strerror(errno));
            return 1;
        }
        return 0;
    }
    if (!strcmp(argv[0], "pwd")) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "sh: pwd: %s\n", strerror(errno));
            return 1;
        }
        printf("%s\n", cwd);
        fflush(stdout);
        return 0;
    }
    if (!strcmp(argv[0], "kill"))
        return kill_command(c->argc, argv);
    if (!strcmp(argv[0], "wait")) {             /* wait for every background job */
        int st;
        while (waitpid(-1, &st, 0) > 0 || errno == EINTR)
            ;
        return 0;
    }
    /* exit [n] */
    int status = last_status;
    if (c->argc > 1) {
        char *end;
        long n = strtol(argv[1], &end, 10);
        if (*argv[1] == 0 || *end != 0) {
            fprintf(stderr, "sh: exit: %s: numeric argument required\n", argv[1]);
            n = 2;
        }
        status = (int)(n & 0xff);
    }
    exit(status);
}

/* execve, and for a file that is neither ELF nor "#!" (ENOEXEC), run it as a shell
 * script, as POSIX shells do.  Returns only if that failed: the errno. */
static int try_exec(char *path, char **argv)
{
    execve(path, argv, environ);
    int err = errno;
    if (err == ENOEXEC) {
        char *args[] = {"sh", path, NULL};
        execve("/bin/sh", args, environ);
    }
    return err;
}

/* In a child: apply the redirections, then become the command.  Never returns. */
static void exec_command(struct cmd *c)
{
    if (c->in_path) {
        int fd = open(c->in_path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "sh: %s: %s\n", c->in_path, strerror(errno));
            _exit(1);
        }
        dup2(fd, 0);
        close(fd);
    }
    if (c->out_path) {
        int fd = open(c->out_path, O_WRONLY | O_CREAT | (c->append ? O_APPEND : O_TRUNC), 0644);
        if (fd < 0) {
            fprintf(stderr, "sh: %s: %s\n", c->out_path, strerror(errno));
            _exit(1);
        }
        dup2(fd, 1);
        close(fd);
    }
    if (c->argc == 0)                           /* just "> file": the file is made */
        _exit(0);
    char *name = c->argv[0];
    if (is_builtin(name))                       /* a built-in in a pipeline or with & */
        _exit(builtin(c));

    int err = ENOENT;
    if (strchr(name, '/')) {                    /* a path: no search */
        err = try_exec(name, c->argv);
    } else {                                    /* search each directory of $PATH */
        const char *dir = getenv("PATH");
        if (!dir)
            dir = "/bin";
        for (;;) {
            const char *colon = strchr(dir, ':');
            int dirlen = colon ? (int)(colon - dir) : (int)strlen(dir);
            char full[4096];
            if (dirlen)
                snprintf(full, sizeof full, "%.*s/%s", dirlen, dir, name);
            else                                /* an empty entry means "." */
                snprintf(full, sizeof full, "./%s", name);
            int e = try_exec(full, c->argv);
            if (e != ENOENT && e != ENOTDIR)
                err = e;                        /* found, but could not run it */
            if (err != ENOENT || !colon)
                break;
            dir = colon + 1;
        }
    }
    if (err == ENOENT) {
        fprintf(stderr, "sh: %s: not found\n", name);
        _exit(127);
    }
    fprintf(stderr, "sh: %s: %s\n", name, strerror(err));
    _exit(126);
}

/* Give the terminal (our standard input) to a process group.  Fails harmlessly when
 * standard input is not a terminal. */
static void give_terminal(pid_t pgid)
{
    if (jobctl)
        tcsetpgrp(0, pgid);
}

/* Run one pipeline of n commands, in the foreground or background.  Returns its status. */
static int run_pipeline(struct cmd *c, int n, int background)
{
    xlen = xoverflow = 0;                       /* expand every word, now */
    for (int i = 0; i < n; i++) {
        c[i].argc = 0;
        for (int w = 0; w < c[i].nwords; w++) {
            char *word = expand(c[i].words[w]);
            if (word)
                c[i].argv[c[i].argc++] = word;
        }
        c[i].argv[c[i].argc] = NULL;
        c[i].in_path = c[i].in ? expand(c[i].in) : NULL;
        c[i].out_path = c[i].out ? expand(c[i].out) : NULL;
        if ((c[i].in && !c[i].in_path) || (c[i].out && !c[i].out_path)) {
            fprintf(stderr, xoverflow ? "sh: command too long\n" : "sh: missing file name\n");
            return 1;
        }
    }

    /* A lone built-in in the foreground runs in the shell itself: cd must change the
     * shell's own directory.  (Its redirections are ignored.) */
    if (n == 1 && !background && c[0].argc > 0 && is_builtin(c[0].argv[0]))
        return builtin(&c[0]);

    fflush(stdout);                             /* or the children would print it again */
    pid_t pids[MAXCMDS], pgid = 0;
    int started = 0, prev_read = -1;            /* the read end of the previous pipe */
    for (int i = 0; i < n; i++) {
        int p[2] = {-1, -1};
        if (i < n - 1 && pipe(p) < 0) {
            fprintf(stderr, "sh: pipe: %s\n", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "sh: fork: %s\n", strerror(errno));
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {                         /* the child */
            if (jobctl) {
                /* Join the job's group (the first child starts it).  The parent does the
                 * same: whichever runs first, the group exists before anyone needs it. */
                setpgid(0, pgid);
                if (!background)
                    give_terminal(pgid ? pgid : getpid());
                for (int s = 0; s < NJOBSIGS; s++)
                    signal(job_signals[s], SIG_DFL);
            }
            if (prev_read >= 0) {               /* read from the previous command */
                dup2(prev_read, 0);
                close(prev_read);
            }
            if (p[1] >= 0) {                    /* write to the next one */
                dup2(p[1], 1);
                close(p[1]);
                close(p[0]);
            }
            exec_command(&c[i]);
        }
        /* the parent */
        if (jobctl) {
            if (!pgid)
                pgid = pid;
            setpgid(pid, pgid);
        }
        pids[started++] = pid;
        if (prev_read >= 0)
            close(prev_read);
        if (p[1] >= 0)
            close(p[1]);                        /* only the children hold the write end */
        prev_read = p[0];
    }
    if (prev_read >= 0)
        close(prev_read);
    if (started == 0)
        return 1;
    if (background) {
        fprintf(stderr, "[%d]\n", (int)pids[started - 1]);
        return 0;
    }
    give_terminal(pgid);
    int status = 0;
    for (int i = 0; i < started; i++)
        status = wait_child(pids[i]);           /* the pipeline's status: the last one's */
    give_terminal(getpgrp());                   /* the shell is in the foreground again */
    if (started < n)
        status = 1;
    return status;
}

/* Run a parsed line: pipelines joined by ; & && ||. */
static void run_line(void)
{
    int run = 1;
    for (int i = 0; i < npipes; i++) {
        struct pipeline *p = &pipes[i];
        if (run)
            last_status = run_pipeline(&cmds[p->first], p->n, p->term == T_AMP);
        if (p->term == T_AND)
            run = last_status == 0;
        else if (p->term == T_OR)
            run = last_status != 0;
        else
            run = 1;
    }
}

/* ------------------------------------------------------------------ main loop */

/* Read a whole command (with its continuation lines) into line and split it into
 * tokens.  Returns 0, -1 at end of input, -2 after a reported error. */
static int read_command(char *line)
{
    int len = next_line(line, MAXLINE);
    if (len == -1)
        return -1;
    if (len == -2) {
        fprintf(stderr, "sh: line too long\n");
        return -2;
    }
    for (;;) {
        int r = tokenize(line);
        if (r == 0)
            return 0;
        if (r < 0) {
            fprintf(stderr, "sh: line too long\n");
            return -2;
        }
        /* unfinished quote or final backslash: the command goes on in the next line */
        len = strlen(line);
        if (len + 2 >= MAXLINE) {
            fprintf(stderr, "sh: line too long\n");
            return -2;
        }
        if (interactive)
            fprintf(stderr, "> ");
        line[len] = '\n';
        if (next_line(line + len + 1, MAXLINE - len - 1) < 0) {
            fprintf(stderr, "sh: unexpected end of input (a quote is not closed)\n");
            return -2;
        }
    }
}

int main(int argc, char **argv)
{
    static char line[MAXLINE];
    if (argc > 2 && !strcmp(argv[1], "-c")) {
        in_str = argv[2];
    } else if (argc > 1) {
        in_fd = open(argv[1], O_RDONLY | O_CLOEXEC);   /* commands must not inherit it */
        if (in_fd < 0) {
            fprintf(stderr, "sh: %s: %s\n", argv[1], strerror(errno));
            return 127;
        }
    } else {
        /* Commands from standard input: do job control, unless we were started in the
         * background of a terminal that belongs to another group. */
        pid_t fg = tcgetpgrp(0);
        jobctl = fg <= 0 || fg == getpgrp();
        interactive = isatty(0);
    }
    if (jobctl) {
        for (int s = 0; s < NJOBSIGS; s++)
            signal(job_signals[s], SIG_IGN);
        setpgid(0, 0);                          /* a group of our own ... */
        give_terminal(getpgrp());               /* ... in the foreground */
    }

    for (;;) {
        reap_background();
        if (interactive)
            fprintf(stderr, "$ ");
        int r = read_command(line);
        if (r == -1)
            break;
        if (r == -2 || parse() < 0) {
            last_status = 2;
            continue;
        }
        run_line();
    }
    if (interactive)
        fprintf(stderr, "\n");
    return last_status;
}
