/* Run on the host's tree, a program's environment is the host's, as if started from the
 * shell that ran ukern: HOME is there, and nothing ukern set for itself (LIBUNICORN_PATH,
 * which points the unicorn package at ukern's build of its library while it loads). */
#include <stdlib.h>
#include "check.h"

int main(void)
{
    begin("env_host");
    const char *home = getenv("HOME");
    check("HOME is set, as in the shell that ran ukern", home != NULL);
    const char *lib = getenv("LIBUNICORN_PATH");
    if (lib)
        fail("LIBUNICORN_PATH: expected unset, got %s", lib);
    msg("LIBUNICORN_PATH is not set");
    end();
}
