/* ukern's own system calls.
 *
 * Linux's x86-64 numbers are used as they are, so musl and glibc programs run unmodified;
 * ukern's own calls are numbered from UKERN_SYSCALL_BASE up, far above Linux's range, and
 * are declared once, here.  The kernel's table is kernel/sys/table.py (UKERN_BASE).
 */
#ifndef UKERN_H
#define UKERN_H

#define UKERN_SYSCALL_BASE 1000

#endif
