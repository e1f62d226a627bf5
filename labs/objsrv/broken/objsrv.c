/* An object-server lab solution with one known mistake, for the grader's own test
 * (tests/test_labs.py): store() answers STORED without writing the object to the disk,
 * so the kernel unpins and forgets a dirty page that never reached its home sectors, and
 * the next boot reads the old value (the handout: STORED "*after* the write completed").
 * Everything else is ukern's own server (userland/sbin/objsrv.c) as of this lab's
 * design. */
/* objsrv: the object server (seed 001, microkernel EROS).  The kernel upcalls it when a
 * process touches a page object that is not in memory; it gets an I/O-pinned frame from
 * the kernel, has the disk DMA the object into the frame's physical address, and tells the
 * kernel the object is there.  Dirty objects go home the same way in reverse.
 *
 * It runs in fixed resources: no malloc, no stdio, nothing but this stack and these
 * statics, all pinned by the kernel before it starts, so it can never fault on an object
 * it would have to fetch itself. */
#include <unistd.h>
#include <ukern.h>

static void say(const char *text)
{
    long n = 0;
    while (text[n])
        n++;
    write(2, text, n);
}

static void load(long oid, long lba, long sectors)
{
    struct ukern_msg frame = {{OBJSRV_FRAME_ALLOC}};
    long slot = ukern_cap_invoke(OBJSRV_FRAMES, &frame);   /* frame.w[1]: its address */
    if (slot < 0) {
        say("objsrv: no frame\n");
        return;
    }
    if (ukern_cap_call3(OBJSRV_DISK, OBJSRV_DISK_READ, lba, sectors, slot) != 0)
        say("objsrv: disk read failed\n");
    ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_LOADED, oid, slot, 0);
}

static void store(long oid, long lba, long sectors, long slot)
{
    (void)lba;                      /* the mistake: no OBJSRV_DISK_WRITE of the frame */
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
