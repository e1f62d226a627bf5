/* Names are bytes: a directory whose name is not UTF-8 can be made, entered, and named by
 * getcwd exactly as it was given.  `cwd_bytes DIR` makes it in DIR (default /tmp). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv)
{
    begin("cwd_bytes");
    char name[200];
    /* a Latin-1 e-acute, then bytes no UTF-8 string has */
    snprintf(name, sizeof name, "%s/caf\xe9-\xff\xfe", argc > 1 ? argv[1] : "/tmp");
    check_eq("mkdir of a non-UTF-8 name", 0, mkdir(name, 0755));
    check_eq("chdir into it", 0, chdir(name));
    char buf[256];
    check("getcwd answers", getcwd(buf, sizeof buf) != 0);
    check_eq("getcwd gives the same bytes", 0, strcmp(buf, name));
    check_eq("chdir to .. ", 0, chdir(".."));
    check_eq("rmdir it", 0, rmdir(name));
    end();
}
