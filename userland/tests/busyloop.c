/* Computes forever without a system call, after saying it started: for the host-side test
 * that Ctrl-C (SIGINT to `ukern run`) stops such a guest.  With the argument "ignore" it
 * ignores SIGINT first, so that only a second Ctrl-C, which stops ukern, ends the run;
 * with "catch" a handler reports the SIGINT and the program exits 3. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_int(int sig)
{
    (void)sig;
    static const char text[] = "busyloop: caught SIGINT\n";
    write(1, text, sizeof text - 1);
    _exit(3);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ignore") == 0)
        signal(SIGINT, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "catch") == 0)
        signal(SIGINT, on_int);
    printf("busyloop: started\n");
    fflush(stdout);
    volatile unsigned long x = 0;
    for (;;)
        x++;
}
