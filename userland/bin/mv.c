/* mv: rename files and directories.
 *   mv old new            rename old to new (replacing a file called new)
 *   mv file... dir        move the files into the directory dir */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "targets.h"

static int move(const char *from, const char *to)
{
    if (rename(from, to) < 0) {
        fprintf(stderr, "mv: cannot move '%s' to '%s': %s\n", from, to, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    return for_each_target(argc, argv, "mv", "mv old new, or mv file... dir", move);
}
