/* AHCI 1.3.1 for a ring-3 driver: the register map and the structures in memory, as
 * emu/ahci_regs.py declares them for the device model (the same names, the same sections).
 * /sbin/objsrv and the register-level tests drive the object store's controller with
 * them, after mapping its registers with the device capability (ukern.h). */
#ifndef UKERN_AHCI_H
#define UKERN_AHCI_H
#include <stdint.h>

/* Generic host control, §3.1 (offsets from ABAR). */
#define AHCI_CAP   0x00
#define AHCI_GHC   0x04
#define AHCI_IS    0x08
#define AHCI_PI    0x0C
#define AHCI_VS    0x10
#define GHC_HR     (1u << 0)
#define GHC_IE     (1u << 1)
#define GHC_AE     (1u << 31)

/* Port registers, §3.3: port p's block is at 0x100 + 0x80 * p. */
#define AHCI_PORT(p)  (0x100 + 0x80 * (p))
#define PX_CLB   0x00
#define PX_CLBU  0x04
#define PX_FB    0x08
#define PX_FBU   0x0C
#define PX_IS    0x10
#define PX_IE    0x14
#define PX_CMD   0x18
#define PX_TFD   0x20
#define PX_SIG   0x24
#define PX_SSTS  0x28
#define PX_SERR  0x30
#define PX_CI    0x38

#define PXCMD_ST   (1u << 0)
#define PXCMD_FRE  (1u << 4)
#define PXCMD_FR   (1u << 14)
#define PXCMD_CR   (1u << 15)
#define PXIS_DHRS  (1u << 0)
#define PXIS_DPS   (1u << 5)
#define PXIS_OFS   (1u << 24)
#define PXIS_HBFS  (1u << 29)
#define PXIS_TFES  (1u << 30)
#define PXIS_ERRORS (PXIS_TFES | PXIS_HBFS | PXIS_OFS | (1u << 28) | (1u << 27))
#define PXIS_ALL   0xFDC000FFu
#define TFD_ERR    0x01
#define TFD_BSY    0x80
#define TFD_DRQ    0x08
#define SSTS_DET_PRESENT 3
#define SIG_ATA    0x00000101u

/* ATA commands (ACS-3). */
#define ATA_READ_DMA_EXT   0x25
#define ATA_WRITE_DMA_EXT  0x35
#define ATA_IDENTIFY       0xEC
#define FIS_TYPE_H2D       0x27
#define FIS_H2D_C          0x80
#define ATA_DEVICE_LBA     0x40

/* Command list entry, §4.2.2 (32 of them at PxCLB, 1 KiB aligned). */
struct ahci_cmd_header {
    uint16_t flags;      /* CFL (4:0) = FIS length in dwords; W (bit 6) = write */
    uint16_t prdtl;      /* PRDT entries */
    uint32_t prdbc;      /* bytes transferred, written by the HBA */
    uint32_t ctba;       /* command table, 128-byte aligned */
    uint32_t ctbau;
    uint32_t reserved[4];
};
#define CMDHDR_W  (1u << 6)
_Static_assert(sizeof(struct ahci_cmd_header) == 32, "AHCI 1.3.1 §4.2.2");

/* Register FIS host to device, SATA 3.x §10.5.5. */
struct fis_h2d {
    uint8_t fis_type, pm_c, command, features;
    uint8_t lba0, lba1, lba2, device;
    uint8_t lba3, lba4, lba5, features_exp;
    uint16_t count;
    uint8_t icc, control;
    uint32_t auxiliary;
};
_Static_assert(sizeof(struct fis_h2d) == 20, "SATA 3.x §10.5.5");

/* Physical region descriptor, §4.2.3.3: dbc = byte count - 1 (even count), bit 31 = I. */
struct ahci_prd {
    uint32_t dba, dbau, reserved, dbc;
};
#define PRD_I (1u << 31)
_Static_assert(sizeof(struct ahci_prd) == 16, "AHCI 1.3.1 §4.2.3.3");

/* Command table, §4.2.3: the command FIS at 0, the PRDT at 0x80 (128-byte aligned). */
#define AHCI_PRDT_MAX 8
struct ahci_cmd_table {
    uint8_t cfis[64];
    uint8_t acmd[16];
    uint8_t reserved[48];
    struct ahci_prd prdt[AHCI_PRDT_MAX];
};
_Static_assert(sizeof(struct ahci_cmd_table) == 0x80 + 16 * AHCI_PRDT_MAX, "AHCI 1.3.1 §4.2.3");

/* A register of the mapped window, read or written as the dword it is. */
static inline uint32_t ahci_read(volatile uint8_t *abar, unsigned off) { return *(volatile uint32_t *)(abar + off); }
static inline void ahci_write(volatile uint8_t *abar, unsigned off, uint32_t v) { *(volatile uint32_t *)(abar + off) = v; }
#endif
