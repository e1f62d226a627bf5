"""The AHCI 1.3.1 register map and in-memory structures, declared once.

Both sides use these names: the device model (emu/ahci.py) and the kernel's driver
(kernel/dev/ahci.py), so a register offset, a bit or a structure layout is written in one
place, next to the section of the specification it comes from.
"""

import ctypes
import enum

# ------------------------------------------------------------------------------------------
# Register map (AHCI 1.3.1 §3).  Offsets are from ABAR.
# ------------------------------------------------------------------------------------------


class HostReg(enum.IntEnum):
    """Generic host control registers, §3.1."""
    CAP = 0x00
    GHC = 0x04
    IS = 0x08
    PI = 0x0C
    VS = 0x10
    CCC_CTL = 0x14
    CCC_PORTS = 0x18
    EM_LOC = 0x1C
    EM_CTL = 0x20
    CAP2 = 0x24
    BOHC = 0x28


PORT_BASE = 0x100       # port 0's registers, §3.3
PORT_STRIDE = 0x80      # each port's register block
MAX_PORTS = 32
ABAR_SIZE = PORT_BASE + MAX_PORTS * PORT_STRIDE   # 0x1100: the full window, as on hardware
AHCI_VERSION_1_3_1 = 0x00010301
COMMAND_SLOTS = 32


class PortReg(enum.IntEnum):
    """Port registers, §3.3, relative to PORT_BASE + port * PORT_STRIDE."""
    CLB = 0x00
    CLBU = 0x04
    FB = 0x08
    FBU = 0x0C
    IS = 0x10
    IE = 0x14
    CMD = 0x18
    TFD = 0x20
    SIG = 0x24
    SSTS = 0x28
    SCTL = 0x2C
    SERR = 0x30
    SACT = 0x34
    CI = 0x38
    SNTF = 0x3C
    FBS = 0x40
    DEVSLP = 0x44


def port_reg(port: int, reg: PortReg) -> int:
    """ABAR offset of one port register."""
    return PORT_BASE + port * PORT_STRIDE + reg


class Cap(enum.IntFlag):
    """CAP, §3.1.1.  NP (4:0), NCS (12:8) and ISS (23:20) are fields: see the *_SHIFT names."""
    SXS = 1 << 5
    EMS = 1 << 6
    CCCS = 1 << 7
    PSC = 1 << 13
    SSC = 1 << 14
    PMD = 1 << 15
    FBSS = 1 << 16
    SPM = 1 << 17
    SAM = 1 << 18
    SCLO = 1 << 24
    SAL = 1 << 25
    SALP = 1 << 26
    SSS = 1 << 27
    SMPS = 1 << 28
    SSNTF = 1 << 29
    SNCQ = 1 << 30
    S64A = 1 << 31


CAP_NP_MASK = 0x1F              # number of ports - 1
CAP_NCS_SHIFT = 8               # number of command slots - 1, 5 bits
CAP_ISS_SHIFT = 20              # interface speed: 1 = 1.5, 2 = 3, 3 = 6 Gbps


class Ghc(enum.IntFlag):
    """GHC, §3.1.2."""
    HR = 1 << 0
    IE = 1 << 1
    MRSM = 1 << 2
    AE = 1 << 31


class PortIS(enum.IntFlag):
    """PxIS and PxIE (same layout), §3.3.5 / §3.3.6."""
    DHRS = 1 << 0       # D2H register FIS received
    PSS = 1 << 1        # PIO setup FIS received
    DSS = 1 << 2        # DMA setup FIS received
    SDBS = 1 << 3       # set device bits FIS received
    UFS = 1 << 4
    DPS = 1 << 5        # a PRD with its I bit was processed
    PCS = 1 << 6
    DMPS = 1 << 7
    PRCS = 1 << 22
    IPMS = 1 << 23
    OFS = 1 << 24       # overflow: more data than the PRDT holds
    INFS = 1 << 26
    IFS = 1 << 27
    HBDS = 1 << 28
    HBFS = 1 << 29      # host bus fatal error: a bad pointer from software
    TFES = 1 << 30      # task file error: the device reported ERR
    CPDS = 1 << 31


PORT_IS_VALID = 0xFDC000FF
# Errors after which the port stops processing until software clears PxCMD.ST (§6.1).
PORT_IS_FATAL = int(PortIS.TFES | PortIS.HBFS | PortIS.HBDS | PortIS.IFS | PortIS.OFS)


class PortCmd(enum.IntFlag):
    """PxCMD, §3.3.7: the bits this HBA implements.  CCS (12:8) is a field."""
    ST = 1 << 0
    SUD = 1 << 1
    POD = 1 << 2
    CLO = 1 << 3
    FRE = 1 << 4
    FR = 1 << 14
    CR = 1 << 15
    ATAPI = 1 << 24


PXCMD_CCS_SHIFT = 8
PXCMD_CCS_MASK = 0x1F << PXCMD_CCS_SHIFT


class AtaStatus(enum.IntFlag):
    """ATA status byte (PxTFD bits 7:0)."""
    ERR = 1 << 0
    DRQ = 1 << 3
    DSC = 1 << 4
    DF = 1 << 5
    DRDY = 1 << 6
    BSY = 1 << 7


class AtaError(enum.IntFlag):
    """ATA error byte (PxTFD bits 15:8)."""
    ABRT = 1 << 2
    IDNF = 1 << 4
    UNC = 1 << 6
    ICRC = 1 << 7


TFD_STATUS_MASK = 0xFF
TFD_ERROR_SHIFT = 8
TFD_NO_DEVICE = 0x7F                       # reset value with nothing attached
STATUS_IDLE = AtaStatus.DRDY | AtaStatus.DSC


class SStatus(enum.IntEnum):
    """PxSSTS fields, §3.3.10: DET (3:0), SPD (7:4), IPM (11:8)."""
    DET_NONE = 0x0
    DET_PRESENT = 0x3           # device present, phy communication established
    SPD_GEN2 = 0x2 << 4
    IPM_ACTIVE = 0x1 << 8


SSTS_DET_MASK = 0xF


class SErr(enum.IntFlag):
    """PxSERR, §3.3.12 (a subset): ERR (15:0) and DIAG (31:16).  This model sets ERR_E."""
    ERR_I = 1 << 0      # recovered data integrity error
    ERR_M = 1 << 1
    ERR_T = 1 << 8      # transient data integrity error
    ERR_C = 1 << 9
    ERR_P = 1 << 10     # protocol error
    ERR_E = 1 << 11     # internal error (set with HBFS: the HBA could not reach memory)
    DIAG_N = 1 << 16
    DIAG_X = 1 << 26


SIG_ATA = 0x00000101
SIG_NONE = 0xFFFFFFFF


class AtaCommand(enum.IntEnum):
    READ_DMA_EXT = 0x25
    WRITE_DMA_EXT = 0x35
    READ_FPDMA_QUEUED = 0x60
    WRITE_FPDMA_QUEUED = 0x61
    FLUSH_CACHE = 0xE7
    IDENTIFY_DEVICE = 0xEC
    FLUSH_CACHE_EXT = 0xEA


class FisType(enum.IntEnum):
    REG_H2D = 0x27
    REG_D2H = 0x34
    DMA_ACTIVATE = 0x39
    DMA_SETUP = 0x41
    DATA = 0x46
    BIST = 0x58
    PIO_SETUP = 0x5F
    SET_DEVICE_BITS = 0xA1


# ------------------------------------------------------------------------------------------
# In-memory structures.
# ------------------------------------------------------------------------------------------


class CommandHeaderFlags(enum.IntFlag):
    """Command header DW0 bits 15:0, §4.2.2.  CFL (4:0) is the FIS length in dwords."""
    A = 1 << 5          # ATAPI
    W = 1 << 6          # write: data flows host -> device
    P = 1 << 7          # prefetchable
    R = 1 << 8          # reset
    B = 1 << 9          # BIST
    C = 1 << 10         # clear busy upon R_OK


CMDHDR_CFL_MASK = 0x1F
CMDHDR_PMP_SHIFT = 12


class CommandHeader(ctypes.LittleEndianStructure):
    """Command list entry, AHCI 1.3.1 §4.2.2; the list holds 32 at PxCLB (1 KiB aligned)."""
    _pack_ = 1
    _fields_ = [
        ('flags', ctypes.c_uint16),     # CFL, A, W, P, R, B, C, PMP
        ('prdtl', ctypes.c_uint16),     # PRDT entries
        ('prdbc', ctypes.c_uint32),     # bytes transferred, written by the HBA
        ('ctba', ctypes.c_uint32),      # command table, 128-byte aligned
        ('ctbau', ctypes.c_uint32),
        ('reserved', ctypes.c_uint32 * 4),
    ]


assert ctypes.sizeof(CommandHeader) == 32


# Command table layout, §4.2.3: command FIS, ATAPI command, then the PRDT.
CT_CFIS = 0x00
CT_ACMD = 0x40
CT_PRDT = 0x80


class PrdEntry(ctypes.LittleEndianStructure):
    """Physical region descriptor, §4.2.3.3.  Byte count = (dbc & PRD_DBC_MASK) + 1, even."""
    _pack_ = 1
    _fields_ = [
        ('dba', ctypes.c_uint32),       # bit 0 reserved: regions are word aligned
        ('dbau', ctypes.c_uint32),
        ('reserved', ctypes.c_uint32),
        ('dbc', ctypes.c_uint32),       # 21:0 byte count - 1, bit 31 interrupt on completion
    ]


assert ctypes.sizeof(PrdEntry) == 16
PRD_DBC_MASK = 0x3FFFFF
PRD_INTERRUPT = 1 << 31


class _LbaFields:
    """LBA spread over six bytes, as the register FISes carry it."""

    @property
    def lba(self) -> int:
        return (self.lba0 | self.lba1 << 8 | self.lba2 << 16
                | self.lba3 << 24 | self.lba4 << 32 | self.lba5 << 40)

    @lba.setter
    def lba(self, value: int) -> None:
        self.lba0, self.lba1, self.lba2 = value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF
        self.lba3, self.lba4, self.lba5 = (value >> 24) & 0xFF, (value >> 32) & 0xFF, (value >> 40) & 0xFF


class H2DRegisterFis(ctypes.LittleEndianStructure, _LbaFields):
    """Register FIS host to device, SATA 3.x §10.5.5 (AHCI 1.3.1 §4.2.3.1 CFIS)."""
    _pack_ = 1
    _fields_ = [
        ('fis_type', ctypes.c_uint8),   # FisType.REG_H2D
        ('pm_c', ctypes.c_uint8),       # 3:0 PM port, bit 7 C: this is a command
        ('command', ctypes.c_uint8),
        ('features', ctypes.c_uint8),
        ('lba0', ctypes.c_uint8), ('lba1', ctypes.c_uint8), ('lba2', ctypes.c_uint8),
        ('device', ctypes.c_uint8),
        ('lba3', ctypes.c_uint8), ('lba4', ctypes.c_uint8), ('lba5', ctypes.c_uint8),
        ('features_exp', ctypes.c_uint8),
        ('count', ctypes.c_uint16),     # NCQ: bits 7:3 carry the tag
        ('icc', ctypes.c_uint8),
        ('control', ctypes.c_uint8),
        ('auxiliary', ctypes.c_uint32),
    ]


assert ctypes.sizeof(H2DRegisterFis) == 20
H2D_C = 0x80
DEVICE_LBA = 0x40


class D2HRegisterFis(ctypes.LittleEndianStructure, _LbaFields):
    """Register FIS device to host, SATA 3.x §10.5.6; posted at RFIS offset 0x40."""
    _pack_ = 1
    _fields_ = [
        ('fis_type', ctypes.c_uint8),   # FisType.REG_D2H
        ('pm_i', ctypes.c_uint8),       # bit 6 I: interrupt
        ('status', ctypes.c_uint8),
        ('error', ctypes.c_uint8),
        ('lba0', ctypes.c_uint8), ('lba1', ctypes.c_uint8), ('lba2', ctypes.c_uint8),
        ('device', ctypes.c_uint8),
        ('lba3', ctypes.c_uint8), ('lba4', ctypes.c_uint8), ('lba5', ctypes.c_uint8),
        ('reserved0', ctypes.c_uint8),
        ('count', ctypes.c_uint16),
        ('reserved1', ctypes.c_uint8 * 6),
    ]


assert ctypes.sizeof(D2HRegisterFis) == 20
FIS_I = 0x40


class SetDeviceBitsFis(ctypes.LittleEndianStructure):
    """Set Device Bits FIS, SATA 3.x §10.5.7; posted at RFIS offset 0x58 for NCQ."""
    _pack_ = 1
    _fields_ = [
        ('fis_type', ctypes.c_uint8),   # FisType.SET_DEVICE_BITS
        ('pm_i_n', ctypes.c_uint8),     # bit 6 I, bit 7 N
        ('status', ctypes.c_uint8),     # 6:4 status hi, 2:0 status lo
        ('error', ctypes.c_uint8),
        ('sactive', ctypes.c_uint32),   # tags completed
    ]


assert ctypes.sizeof(SetDeviceBitsFis) == 8


class ReceivedFis(ctypes.LittleEndianStructure):
    """Received FIS area at PxFB (256-byte aligned), AHCI 1.3.1 §4.2.1."""
    _pack_ = 1
    _fields_ = [
        ('dsfis', ctypes.c_uint8 * 28),     # 0x00 DMA setup FIS
        ('pad0', ctypes.c_uint8 * 4),
        ('psfis', ctypes.c_uint8 * 20),     # 0x20 PIO setup FIS
        ('pad1', ctypes.c_uint8 * 12),
        ('rfis', D2HRegisterFis),           # 0x40 D2H register FIS
        ('pad2', ctypes.c_uint8 * 4),
        ('sdbfis', SetDeviceBitsFis),       # 0x58 set device bits FIS
        ('ufis', ctypes.c_uint8 * 64),      # 0x60 unknown FIS
        ('reserved', ctypes.c_uint8 * 96),  # 0xA0
    ]


assert ctypes.sizeof(ReceivedFis) == 256
assert ReceivedFis.rfis.offset == 0x40 and ReceivedFis.sdbfis.offset == 0x58
RFIS_D2H = ReceivedFis.rfis.offset
RFIS_SDB = ReceivedFis.sdbfis.offset
