/* objsrv: the object server (seed 001, microkernel EROS).  The kernel upcalls it when a
 * process touches a page object that is not in memory; it gets an I/O-pinned frame from
 * the kernel, has the disk DMA the object into the frame's physical address, and tells the
 * kernel the object is there.  Dirty objects go home the same way in reverse.
 *
 * It runs in fixed resources: no malloc, no stdio, nothing but this stack and these
 * statics, all pinned by the kernel before it starts, so it can never fault on an object
 * it would have to fetch itself.
 *
 * Lab objsrv (labs/objsrv/README.md): write load() and store(). */
#include <unistd.h>
#include <ukern.h>

static void say(const char *text)
{
    long n = 0;
    while (text[n])
        n++;
    write(2, text, n);
}

/* A LOAD upcall: page object `oid` lives in `sectors` sectors at disk LBA `lba`, and
 * processes are blocked until the kernel hears LOADED(oid, frame slot). */
static void load(long oid, long lba, long sectors)
{
    /* TODO 1: invoke the frame capability (slot OBJSRV_FRAMES) with OBJSRV_FRAME_ALLOC
     *         (ukern_cap_invoke with a struct ukern_msg): the result is the slot of a
     *         FRAME capability to a cleared, I/O-pinned frame, and msg.w[1] is its
     *         physical address.  A negative result is an error: say so, and give up on
     *         this object.
     * TODO 2: have the disk DMA the object into that frame: invoke the disk capability
     *         (OBJSRV_DISK) with OBJSRV_DISK_READ(lba, sectors, frame slot); 0 is success.
     * TODO 3: tell the kernel: OBJSRV_LOADED(oid, frame slot) on OBJSRV_KERNEL.  The kernel
     *         unpins the frame, puts it in the object cache and wakes the waiters.
     *
     * Until then the server answers with no frame at all, which the kernel refuses: the
     * processes that wanted the object wait for ever (the grader says which object). */
    (void)lba;
    (void)sectors;
    ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_LOADED, oid, -1, 0);
}

/* A STORE upcall: dirty page object `oid` goes home to `sectors` sectors at `lba`; the
 * kernel already put a FRAME capability to the cached (pinned) frame in slot `slot`. */
static void store(long oid, long lba, long sectors, long slot)
{
    /* TODO 4: have the disk DMA the frame home: OBJSRV_DISK_WRITE(lba, sectors, slot) on
     *         OBJSRV_DISK; 0 is success.
     * TODO 5: then, and only then, tell the kernel OBJSRV_STORED(oid, slot): it unpins the
     *         frame and empties the slot.
     *
     * Until then the server says STORED without writing anything: the kernel unpins the
     * frame and believes the object is home, but the disk still holds the old contents. */
    (void)lba;
    (void)sectors;
    ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_STORED, oid, slot, 0);
}

int main(void)
{
    for (;;) {
        struct ukern_msg m = {{OBJSRV_WAIT}};
        long what = ukern_cap_invoke(OBJSRV_ENDPOINT, &m);
        if (what == OBJSRV_MSG_LOAD)
            load(m.w[1], m.w[2], m.w[3]);
        else if (what == OBJSRV_MSG_STORE)
            store(m.w[1], m.w[2], m.w[3], m.w[4]);
        else if (what < 0)
            say("objsrv: wait failed\n");
    }
}
