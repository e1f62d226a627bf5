/* kill: send a signal to processes (the command itself is in killcmd.h, which the shell's
 * built-in kill shares). */
#include "killcmd.h"

int main(int argc, char **argv)
{
    return kill_command(argc, argv);
}
