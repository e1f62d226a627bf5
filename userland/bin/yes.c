/* yes: print a line over and over (a source of input for pipelines).
 *   yes [count] [word...]    the words (default "y") on each line; count lines, or
 *                            forever if no count (until the reader goes away: SIGPIPE) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long count = -1;                            /* -1: no end */
    int i = 1;
    if (i < argc && argv[i][0] >= '0' && argv[i][0] <= '9') {
        char *end;
        count = strtol(argv[i], &end, 10);
        if (*end != 0) {
            fprintf(stderr, "usage: yes [count] [word...]\n");
            return 1;
        }
        i++;
    }
    /* Build the line once. */
    char line[4096] = "";
    size_t len = 0;
    if (i == argc)
        strcpy(line, "y");
    for (int j = i; j < argc; j++)
        len += snprintf(line + len, len < sizeof line ? sizeof line - len : 0, "%s%s", j > i ? " " : "", argv[j]);
    for (long n = 0; count < 0 || n < count; n++)
        if (puts(line) < 0)                     /* EPIPE, if SIGPIPE is ignored */
            return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
