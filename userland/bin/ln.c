/* ln: make links.
 *   ln target name          a hard link: name becomes another name of target's file
 *   ln -s target name       a symbolic link: name holds the text target
 *   ln [-s] target... dir   one link in dir per target, named for its last component */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "targets.h"

static int hard(const char *target, const char *name)
{
    if (link(target, name) < 0) {
        fprintf(stderr, "ln: cannot link '%s' to '%s': %s\n", name, target, strerror(errno));
        return 1;
    }
    return 0;
}

static int soft(const char *target, const char *name)
{
    if (symlink(target, name) < 0) {
        fprintf(stderr, "ln: cannot make symbolic link '%s': %s\n", name, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *usage = "ln [-s] target name, or ln [-s] target... dir";
    if (argc > 1 && strcmp(argv[1], "-s") == 0)     /* "-s" takes the program name's slot */
        return for_each_target(argc - 1, argv + 1, "ln", usage, soft);
    return for_each_target(argc, argv, "ln", usage, hard);
}
