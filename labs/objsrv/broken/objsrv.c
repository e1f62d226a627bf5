/* An object-server lab solution with one known mistake, for the grader's own test
 * (tests/test_labs.py): a STORE is answered STORED without the write ever being issued,
 * so the checkpoint's log (and later the object's home) never receives the page, and the
 * next boot cannot find the value a process wrote (the handout: STORED "*after* the write
 * completed").  Everything else is ukern's own server (userland/sbin/objsrv.c). */
/* objsrv: the object server (seed 001, microkernel EROS), and the object store's disk
 * driver.  The store's disk hangs off a controller of its own, which the kernel never
 * programs: this program maps its registers (the device capability), resets and probes
 * it, and moves every sector of the store -- page objects into I/O-pinned frames the
 * kernel lends it, dirty pages home, and the store's own metadata and nodes -- by building
 * AHCI commands with physical addresses, setting PxCI and waiting for the interrupt
 * message.  The protocol and the livelock argument: kernel/obj/server.py.
 *
 * It runs in fixed resources: no malloc, no stdio, nothing but this stack and these
 * statics, all present and pinned by the kernel before it starts, so it never faults. */
#include <stdint.h>
#include <unistd.h>
#include <ukern.h>
#include <ahci.h>

#define ABAR_VA  0x100000000000UL      /* where the registers are mapped */
#define PORT     AHCI_PORT(0)
#define SECTOR   512

/* One page of our own memory for the controller: the command list (1 KiB aligned), the
 * received-FIS area (256 B aligned), one command table (128 B aligned), and room for the
 * IDENTIFY data.  It is pinned, so its physical address (the PHYS capability) holds. */
#define CLB_OFF   0
#define FB_OFF    1024
#define CT_OFF    1280
#define ID_OFF    2048
static uint8_t area[4096] __attribute__((aligned(4096)));
static volatile uint8_t *abar = (volatile uint8_t *)ABAR_VA;
static uint64_t area_phys;

static void say(const char *text)
{
    long n = 0;
    while (text[n])
        n++;
    write(2, text, n);
}

static uint32_t port_read(unsigned reg) { return ahci_read(abar, PORT + reg); }
static void port_write(unsigned reg, uint32_t v) { ahci_write(abar, PORT + reg, v); }

/* Stop the port's command engine and FIS receive (§10.1.2), then start them again with
 * our command list and FIS area: how the port comes up, and how it recovers from an error
 * (§6.2.2: clear ST, wait for CR, clear SERR and IS, set ST). */
static void port_restart(void)
{
    port_write(PX_CMD, port_read(PX_CMD) & ~(PXCMD_ST | PXCMD_FRE));
    while (port_read(PX_CMD) & (PXCMD_CR | PXCMD_FR))
        ;
    port_write(PX_CLB, (uint32_t)(area_phys + CLB_OFF));
    port_write(PX_CLBU, (uint32_t)((area_phys + CLB_OFF) >> 32));
    port_write(PX_FB, (uint32_t)(area_phys + FB_OFF));
    port_write(PX_FBU, (uint32_t)((area_phys + FB_OFF) >> 32));
    port_write(PX_SERR, 0xFFFFFFFFu);
    port_write(PX_IS, PXIS_ALL);
    ahci_write(abar, AHCI_IS, 1);
    port_write(PX_IE, PXIS_DHRS | PXIS_DPS | PXIS_ERRORS);
    port_write(PX_CMD, port_read(PX_CMD) | PXCMD_FRE);
    port_write(PX_CMD, port_read(PX_CMD) | PXCMD_ST);
}

/* Slot 0's command: header, FIS and a one-entry PRDT naming `nbytes` at physical `buf`. */
static void build_command(int command, long lba, long count, uint64_t buf, long nbytes, int write_)
{
    struct ahci_cmd_header *h = (struct ahci_cmd_header *)(area + CLB_OFF);
    struct ahci_cmd_table *t = (struct ahci_cmd_table *)(area + CT_OFF);
    struct fis_h2d *fis = (struct fis_h2d *)t->cfis;
    uint64_t table = area_phys + CT_OFF;

    h->flags = (sizeof(struct fis_h2d) / 4) | (write_ ? CMDHDR_W : 0);
    h->prdtl = 1;
    h->prdbc = 0;
    h->ctba = (uint32_t)table;
    h->ctbau = (uint32_t)(table >> 32);
    *fis = (struct fis_h2d){0};
    fis->fis_type = FIS_TYPE_H2D;
    fis->pm_c = FIS_H2D_C;
    fis->command = command;
    fis->device = ATA_DEVICE_LBA;
    fis->lba0 = lba; fis->lba1 = lba >> 8; fis->lba2 = lba >> 16;
    fis->lba3 = lba >> 24; fis->lba4 = lba >> 32; fis->lba5 = lba >> 40;
    fis->count = count;
    t->prdt[0] = (struct ahci_prd){(uint32_t)buf, (uint32_t)(buf >> 32), 0, (uint32_t)(nbytes - 1) | PRD_I};
}

/* Issue slot 0 and wait for its interrupt message: 0, or the port's error bits (and the
 * port restarted, so the next command can run). */
static long run_command(void)
{
    port_write(PX_CI, 1);
    for (;;) {
        ukern_cap_call(UKERN_IRQ_SLOT, UKERN_IRQ_WAIT, 0, 0);
        uint32_t is = port_read(PX_IS);
        port_write(PX_IS, is);                  /* PxIS first, then IS (§10.7.2.1) */
        ahci_write(abar, AHCI_IS, 1);
        ukern_cap_call(UKERN_IRQ_SLOT, UKERN_IRQ_ACK, 0, 0);
        uint32_t tfd = port_read(PX_TFD);
        if ((is & PXIS_ERRORS) || (tfd & TFD_ERR)) {
            port_restart();
            return (is & PXIS_ERRORS) ? (long)is : (long)(tfd | 0x100);
        }
        if (!(port_read(PX_CI) & 1))
            return 0;
    }
}

static long transfer(long lba, long sectors, uint64_t phys, int write_)
{
    build_command(write_ ? ATA_WRITE_DMA_EXT : ATA_READ_DMA_EXT, lba, sectors, phys,
                  sectors * SECTOR, write_);
    return run_command();
}

/* Reset the controller, bring port 0 up, and IDENTIFY its disk: its size in sectors. */
static long probe(void)
{
    ahci_write(abar, AHCI_GHC, GHC_HR);
    while (ahci_read(abar, AHCI_GHC) & GHC_HR)
        ;
    ahci_write(abar, AHCI_GHC, GHC_AE | GHC_IE);
    if ((port_read(PX_SSTS) & 0xF) != SSTS_DET_PRESENT || port_read(PX_SIG) != SIG_ATA)
        return -1;
    port_restart();
    build_command(ATA_IDENTIFY, 0, 0, area_phys + ID_OFF, SECTOR, 0);
    if (run_command() != 0)
        return -1;
    const uint16_t *id = (const uint16_t *)(area + ID_OFF);
    return (long)id[100] | (long)id[101] << 16 | (long)id[102] << 32 | (long)id[103] << 48;
}

static void load(long oid, long lba, long sectors)
{
    struct ukern_msg frame = {{OBJSRV_FRAME_ALLOC}};
    long slot = ukern_cap_invoke(OBJSRV_FRAMES, &frame);   /* frame.w[1]: its address */
    if (slot < 0) {
        say("objsrv: no frame\n");
        return;
    }
    long status = transfer(lba, sectors, (uint64_t)frame.w[1], 0);
    if (status)
        say("objsrv: object read failed\n");
    ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_LOADED, oid, slot, status);
}

int main(void)
{
    if (ukern_cap_call(UKERN_DEVICE_SLOT, UKERN_DEVICE_MAP, (long)ABAR_VA, 0) != 0) {
        say("objsrv: cannot map the controller\n");
        return 1;
    }
    area_phys = (uint64_t)ukern_cap_call(UKERN_PHYS_SLOT, UKERN_PHYS_ADDR, (long)area, 0);
    long sectors = probe();
    if (sectors <= 0) {
        say("objsrv: no disk on the object store's controller\n");
        return 1;
    }
    ukern_cap_call(OBJSRV_KERNEL, OBJSRV_READY, sectors, 0);
    for (;;) {
        struct ukern_msg m = {{OBJSRV_WAIT}};
        long what = ukern_cap_invoke(OBJSRV_ENDPOINT, &m);
        if (what == OBJSRV_MSG_LOAD) {
            load(m.w[1], m.w[2], m.w[3]);
        } else if (what == OBJSRV_MSG_STORE) {
            long status = 0;                /* THE MISTAKE: no transfer() of the page */
            ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_STORED, m.w[1], m.w[4], status);
        } else if (what == OBJSRV_MSG_READ || what == OBJSRV_MSG_WRITE) {
            long status = transfer(m.w[2], m.w[3], (uint64_t)m.w[5], what == OBJSRV_MSG_WRITE);
            ukern_cap_call3(OBJSRV_KERNEL, OBJSRV_DONE, m.w[1], m.w[4], status);
        } else if (what < 0) {
            say("objsrv: wait failed\n");
        }
    }
}
