/* storedrv: drive the object store's AHCI controller from ring 3, register by register.
 * The host test grants this program the device capabilities (kernel/obj/devcap.py); it
 * maps the registers, resets the controller, brings port 0 up, and then
 *
 *   storedrv identify SECTORS WORD   IDENTIFY (the disk has SECTORS sectors), then READ
 *                                    sector 0 and find WORD (hex) in its first 8 bytes
 *   storedrv audit PHYS              READ into physical address PHYS, a frame it does not
 *                                    hold: the controller refuses (PxIS.HBFS)
 *
 * All of it with loads and stores to the mapped registers and to its own pinned memory. */
#include <stdint.h>
#include <ukern.h>
#include <ahci.h>
#include "check.h"

#define ABAR_VA 0x200000000000UL
#define PORT    AHCI_PORT(0)

static uint8_t area[4096] __attribute__((aligned(4096)));   /* list, FIS, table */
static uint8_t data[4096] __attribute__((aligned(4096)));   /* what the disk DMAs into */
static volatile uint8_t *abar = (volatile uint8_t *)ABAR_VA;
static uint64_t area_phys, data_phys;

static uint32_t reg(unsigned off) { return ahci_read(abar, PORT + off); }
static void set(unsigned off, uint32_t v) { ahci_write(abar, PORT + off, v); }

static void port_up(void)
{
    set(PX_CMD, reg(PX_CMD) & ~(PXCMD_ST | PXCMD_FRE));
    while (reg(PX_CMD) & (PXCMD_CR | PXCMD_FR))
        ;
    set(PX_CLB, (uint32_t)area_phys);
    set(PX_CLBU, (uint32_t)(area_phys >> 32));
    set(PX_FB, (uint32_t)(area_phys + 1024));
    set(PX_FBU, (uint32_t)((area_phys + 1024) >> 32));
    set(PX_SERR, 0xFFFFFFFFu);
    set(PX_IS, PXIS_ALL);
    set(PX_IE, PXIS_DHRS | PXIS_ERRORS);
    set(PX_CMD, reg(PX_CMD) | PXCMD_FRE);
    set(PX_CMD, reg(PX_CMD) | PXCMD_ST);
}

/* Slot 0 runs `command` with one PRD of `n` bytes at physical `buf`; returns PxIS. */
static uint32_t command(int op, long lba, int count, uint64_t buf, uint32_t n)
{
    struct ahci_cmd_header *h = (struct ahci_cmd_header *)area;
    struct ahci_cmd_table *t = (struct ahci_cmd_table *)(area + 1280);
    struct fis_h2d *fis = (struct fis_h2d *)t->cfis;
    h->flags = sizeof(struct fis_h2d) / 4;
    h->prdtl = 1;
    h->prdbc = 0;
    h->ctba = (uint32_t)(area_phys + 1280);
    h->ctbau = (uint32_t)((area_phys + 1280) >> 32);
    *fis = (struct fis_h2d){.fis_type = FIS_TYPE_H2D, .pm_c = FIS_H2D_C, .command = op,
                            .device = ATA_DEVICE_LBA, .lba0 = lba, .lba1 = lba >> 8,
                            .lba2 = lba >> 16, .count = count};
    t->prdt[0] = (struct ahci_prd){(uint32_t)buf, (uint32_t)(buf >> 32), 0, (n - 1) | PRD_I};
    set(PX_CI, 1);
    struct ukern_msg m = {{UKERN_IRQ_WAIT}};
    check_eq("the interrupt arrives as a message", 0, ukern_cap_invoke(UKERN_IRQ_SLOT, &m));
    uint32_t is = reg(PX_IS);
    set(PX_IS, is);
    ahci_write(abar, AHCI_IS, 1);
    ukern_cap_call(UKERN_IRQ_SLOT, UKERN_IRQ_ACK, 0, 0);
    return is;
}

static long hex(const char *s)
{
    long v = 0;
    for (; *s; s++)
        v = v * 16 + (*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
    return v;
}

int main(int argc, char **argv)
{
    begin("storedrv");
    if (argc < 3)
        fail("usage: storedrv identify SECTORS WORD | audit PHYS");
    check_eq("map the registers", 0, ukern_cap_call(UKERN_DEVICE_SLOT, UKERN_DEVICE_MAP, (long)ABAR_VA, 0));
    check_eq("AHCI version", 0x10301, ahci_read(abar, AHCI_VS));
    check_eq("ports implemented", 1, ahci_read(abar, AHCI_PI));
    area_phys = ukern_cap_call(UKERN_PHYS_SLOT, UKERN_PHYS_ADDR, (long)area, 0);
    data_phys = ukern_cap_call(UKERN_PHYS_SLOT, UKERN_PHYS_ADDR, (long)data, 0);
    check("my pinned pages have physical addresses", (long)area_phys > 0 && (long)data_phys > 0);
    check_eq("a page that is not mine has none", -1, ukern_cap_call(UKERN_PHYS_SLOT, UKERN_PHYS_ADDR, 0x10, 0));
    ahci_write(abar, AHCI_GHC, GHC_HR);
    check_eq("reset done", 0, ahci_read(abar, AHCI_GHC) & GHC_HR);
    ahci_write(abar, AHCI_GHC, GHC_AE | GHC_IE);
    check_eq("a disk is present", SSTS_DET_PRESENT, reg(PX_SSTS) & 0xF);
    check_eq("an ATA disk", SIG_ATA, reg(PX_SIG));
    port_up();
    if (argv[1][0] == 'i') {
        check_eq("IDENTIFY completes", PXIS_DHRS, command(ATA_IDENTIFY, 0, 0, data_phys, 512) & ~PXIS_DPS);
        const uint16_t *id = (const uint16_t *)data;
        check_eq("integrity signature", 0xA5, data[510]);
        check_eq("model starts 'uk'", ('u' << 8) | 'k', id[27]);
        long sectors = (long)id[100] | (long)id[101] << 16 | (long)id[102] << 32;
        check_eq("capacity in sectors", hex(argv[2]), sectors);
        check_eq("READ DMA EXT completes", PXIS_DHRS, command(ATA_READ_DMA_EXT, 0, 1, data_phys, 512) & ~PXIS_DPS);
        check_eq("bytes transferred", 512, ((struct ahci_cmd_header *)area)->prdbc);
        check_eq("sector 0 holds the word", hex(argv[3]), *(uint64_t *)data);
        check_eq("task file idle", 0, reg(PX_TFD) & (TFD_ERR | TFD_BSY));
    } else {
        uint32_t is = command(ATA_READ_DMA_EXT, 0, 1, hex(argv[2]), 512);
        check("a DMA outside my frames is a host bus fault", is & PXIS_HBFS);
        check_eq("nothing transferred", 0, ((struct ahci_cmd_header *)area)->prdbc);
    }
    end();
}
