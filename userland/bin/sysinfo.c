/* sysinfo: free memory and the number of processes, from ukern's sysinfo call (labs/syscall). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ukern.h"

int main(void)
{
    struct ukern_sysinfo info;
    if (ukern_sysinfo(&info) < 0) {
        fprintf(stderr, "sysinfo: %s\n", strerror(errno));
        return 1;
    }
    printf("free frames: %llu of %llu (%llu KiB free)\nprocesses: %llu\n",
           (unsigned long long)info.free_frames, (unsigned long long)info.total_frames,
           (unsigned long long)info.free_frames * 4, (unsigned long long)info.nproc);
    return 0;
}
