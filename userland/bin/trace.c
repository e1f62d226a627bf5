/* trace MASK PROGRAM [ARGS...]: run PROGRAM with system-call tracing (labs/syscall).
 * Bit n of MASK traces system call n (1 = read, 2 = write, 1 << 39 = getpid, ...);
 * the kernel prints "PID: syscall NAME -> RESULT" for each traced call, in PROGRAM and the
 * children it forks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ukern.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: trace MASK PROGRAM [ARGS...]\n");
        return 2;
    }
    if (ukern_trace(strtoul(argv[1], NULL, 0)) < 0) {
        fprintf(stderr, "trace: %s\n", strerror(errno));
        return 1;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "trace: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
