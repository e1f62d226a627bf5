/* ukern's own system calls.
 *
 * Linux's x86-64 numbers are used as they are, so musl and glibc programs run unmodified;
 * ukern's own calls are numbered from UKERN_SYSCALL_BASE up, far above Linux's range, and
 * are declared once, here.  The kernel's table is kernel/sys/table.py (UKERN_BASE).
 */
#ifndef UKERN_H
#define UKERN_H

#define UKERN_SYSCALL_BASE 1000

/* The course labs' calls (labs/README.md): kernel/sys/ukern.py holds the reference
 * handlers; while a lab is active kernel/labs.py installs a student's instead. */
#define SYS_ukern_trace    (UKERN_SYSCALL_BASE + 0)   /* labs/syscall */
#define SYS_ukern_sysinfo  (UKERN_SYSCALL_BASE + 1)   /* labs/syscall */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <unistd.h>

struct ukern_sysinfo {
    uint64_t free_frames;     /* frames of RAM no one uses */
    uint64_t total_frames;    /* frames the allocator manages */
    uint64_t nproc;           /* processes, zombies included */
};

/* The wrappers: each returns the call's result, or -1 with errno set. */
static inline long ukern_trace(unsigned long mask) { return syscall(SYS_ukern_trace, mask); }
static inline long ukern_sysinfo(struct ukern_sysinfo *info) { return syscall(SYS_ukern_sysinfo, info); }
#endif

#endif
