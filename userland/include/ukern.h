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
/* Page-level asynchronous I/O (kernel/mm/aio.py): buffers, lengths and offsets are whole
 * pages.  aread/awrite return a request id at once; touching a page of an aread buffer
 * before its data has arrived blocks on that page alone (SIGBUS if its read failed). */
#define SYS_ukern_aread    (UKERN_SYSCALL_BASE + 2)
#define SYS_ukern_awrite   (UKERN_SYSCALL_BASE + 3)
#define SYS_ukern_await    (UKERN_SYSCALL_BASE + 4)
#define SYS_ukern_apoll    (UKERN_SYSCALL_BASE + 5)
/* The page-table lab (labs/pgtbl): kernel/sys/pgtbl.py, kernel/mm/pgtbl_report.py. */
#define SYS_ukern_vmprint  (UKERN_SYSCALL_BASE + 6)   /* labs/pgtbl: print my page tables */
#define SYS_ukern_pgaccess (UKERN_SYSCALL_BASE + 7)   /* labs/pgtbl: which pages were accessed */

/* The ukern page (labs/pgtbl): a page the kernel maps read-only in every process, at exec
 * and fork, holding a struct ukern_usyscall -- so ukern_getpid() needs no system call.
 * It lies above mmap's area and below the stack's (kernel/mm/pgtbl_report.py: USYSCALL). */
#define UKERN_USYSCALL     0x7FFF00000000UL

/* Capabilities (kernel/obj, kernel/sys/objsys.py): a process names them by c-list slot.
 * A new process holds the space bank in slot 0 and the root node in slot 1. */
#define SYS_ukern_cap_call (UKERN_SYSCALL_BASE + 20)
#define SYS_ukern_cap_map  (UKERN_SYSCALL_BASE + 21)
#define SYS_ukern_cap_drop (UKERN_SYSCALL_BASE + 22)
#define SYS_ukern_objsync  (UKERN_SYSCALL_BASE + 23)
#define UKERN_BANK_SLOT 0
#define UKERN_ROOT_SLOT 1
enum ukern_op {
    UKERN_ALLOC_PAGE = 1, UKERN_ALLOC_NODE = 2, UKERN_DESTROY = 3, UKERN_QUOTA = 4,
    UKERN_NODE_GET = 10, UKERN_NODE_SET = 11, UKERN_RESTRICT = 20,
    UKERN_ALLOC_ENDPOINT = 5,   /* on the bank: a new endpoint */
    UKERN_CALL = 70,            /* on an endpoint: send the message, sleep until the reply */
    UKERN_RECEIVE = 71,         /* on an endpoint: the next caller's message */
    UKERN_REPLY = 72,           /* on an endpoint: answer the last message received */
};
/* In an endpoint message, word 7 names a capability slot to pass (-1: none); it arrives
 * installed in a free slot of the receiver's c-list, whose number replaces it. */
#define UKERN_MSG_CAP 7
#define UKERN_READ_ONLY 1
#define UKERN_WEAK 2

/* Device capabilities (kernel/obj/devcap.py): the holder drives the object store's own
 * AHCI controller from ring 3.  The kernel puts them in these c-list slots. */
#define UKERN_DEVICE_SLOT 2     /* the controller's registers */
#define UKERN_IRQ_SLOT    4     /* its interrupts, as messages */
#define UKERN_PHYS_SLOT   5     /* physical addresses of the holder's own pinned pages */
#define UKERN_DEVICE_PAGES 2    /* the register window (0x1100 bytes) takes two pages */
enum ukern_device {
    UKERN_DEVICE_MAP = 80,      /* on DEVICE (va): map the registers there, uncached (PCD|PWT) */
    UKERN_IRQ_WAIT = 81,        /* on IRQ: sleep until an interrupt message; w[1] line, w[2] count */
    UKERN_IRQ_ACK = 82,         /* on IRQ: unmask the line (clear PxIS and IS first) */
    UKERN_PHYS_ADDR = 83,       /* on PHYS (va): the physical address of a pinned page of mine */
};

/* The object server's side (kernel/obj/server.py): its c-list at start, the upcall
 * messages it waits for, and the operations on its capabilities.  It also holds the
 * device capabilities above: it is the store's disk driver. */
#define OBJSRV_ENDPOINT 0
#define OBJSRV_FRAMES   1
#define OBJSRV_KERNEL   3
enum ukern_objsrv {
    OBJSRV_MSG_LOAD = 1,        /* w[1] oid, w[2] store LBA, w[3] sectors */
    OBJSRV_MSG_STORE = 2,       /* w[1] oid, w[2] LBA, w[3] sectors, w[4] frame slot, w[5] its address;
                                 * the LBA is the checkpoint log's or the object's home
                                 * (kernel/obj/checkpoint.py): write where told */
    OBJSRV_MSG_READ = 3,        /* w[1] tag, w[2] LBA, w[3] sectors, w[4] frame slot, w[5] its address */
    OBJSRV_MSG_WRITE = 4,       /* the same, from the frame to the disk */
    OBJSRV_FRAME_ALLOC = 30,    /* -> a frame capability's slot; w[1] = its physical address */
    OBJSRV_LOADED = 50,         /* (oid, frame slot, status): the object is in the frame */
    OBJSRV_STORED = 51,         /* (oid, frame slot, status): the object is home */
    OBJSRV_DONE = 52,           /* (tag, frame slot, status): a READ or WRITE is over */
    OBJSRV_READY = 53,          /* (sectors): the disk is up; the kernel opens the store */
    OBJSRV_WAIT = 60,           /* on the endpoint: the next upcall, into the message */
};

/* mmap flags from seed 003 ("Direct I/O"), above Linux's own (kernel/sys/memory.py). */
#define MAP_BLOCK   0x1000000   /* return only when the whole region has been read */
#define MAP_NOSYNC  0x2000000   /* modified pages are never written back */
#define MAP_DIRECT  0x4000000   /* the mapping's own frames are the DMA targets, not the cache's;
                                 * with MAP_FIXED, the pages already mapped there are reused */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <unistd.h>

struct ukern_usyscall {
    uint64_t pid;             /* the process's pid, written by the kernel */
};

struct ukern_sysinfo {
    uint64_t free_frames;     /* frames of RAM no one uses */
    uint64_t total_frames;    /* frames the allocator manages */
    uint64_t nproc;           /* processes, zombies included */
};

/* The wrappers: each returns the call's result, or -1 with errno set. */
static inline long ukern_trace(unsigned long mask) { return syscall(SYS_ukern_trace, mask); }
static inline long ukern_sysinfo(struct ukern_sysinfo *info) { return syscall(SYS_ukern_sysinfo, info); }
struct ukern_msg { long w[8]; };
/* Invoke the capability in `slot` with operation op and up to two arguments. */
static inline long ukern_cap_call(int slot, long op, long a, long b)
{
    struct ukern_msg m = {{op, a, b}};
    return syscall(SYS_ukern_cap_call, slot, &m);
}
/* The general form: the message goes in and the reply comes back in the same buffer. */
static inline long ukern_cap_invoke(int slot, struct ukern_msg *m) { return syscall(SYS_ukern_cap_call, slot, m); }
static inline long ukern_cap_call3(int slot, long op, long a, long b, long c)
{
    struct ukern_msg m = {{op, a, b, c}};
    return syscall(SYS_ukern_cap_call, slot, &m);
}
static inline long ukern_cap_map(int slot, void *addr, int prot) { return syscall(SYS_ukern_cap_map, slot, addr, prot); }
static inline long ukern_cap_drop(int slot) { return syscall(SYS_ukern_cap_drop, slot); }
static inline long ukern_objsync(void) { return syscall(SYS_ukern_objsync); }
static inline long ukern_aread(int fd, void *buf, size_t len, off_t off) { return syscall(SYS_ukern_aread, fd, buf, len, off); }
static inline long ukern_awrite(int fd, const void *buf, size_t len, off_t off) { return syscall(SYS_ukern_awrite, fd, buf, len, off); }
static inline long ukern_await(long id) { return syscall(SYS_ukern_await, id); }
static inline long ukern_apoll(long id) { return syscall(SYS_ukern_apoll, id); }
static inline long ukern_vmprint(void) { return syscall(SYS_ukern_vmprint); }
/* *mask = bit i for each page base + i*4096 (i < npages <= 64) accessed since the last call. */
static inline long ukern_pgaccess(void *base, int npages, uint64_t *mask) { return syscall(SYS_ukern_pgaccess, base, npages, mask); }
/* getpid() without a system call: a load from the ukern page (a fault if it is not mapped). */
static inline pid_t ukern_getpid(void) { return (pid_t)((const volatile struct ukern_usyscall *)UKERN_USYSCALL)->pid; }
#endif

#endif
