/*
 * slicecount.c: bound a time slice by instructions, counted one translated block at a time.
 *
 * Unicorn's own bound, emu_start(count=N), calls a hook before every instruction, and guest
 * code runs 25-30 times slower.  ukern registers sc_on_block below as a UC_HOOK_BLOCK
 * callback once, at start-up, by its C address: being the only block hook, Unicorn calls it
 * straight from the code it generates for each translation block (an "inline hook": no
 * Python, no dispatch loop).  It costs a call per block, not per instruction: on the
 * tightest loop (eight instructions a block) about 1.7x, 2x with the kernel's slices of
 * 100,000 instructions; less on ordinary code, whose blocks are longer and slower.
 *
 * Only counted slices pay it.  Unicorn puts the call into a block when it translates the
 * block, if the hook's address range covers it: sc_begin opens the range to every address
 * and sc_end closes it to one no code runs at, so blocks translated while no slice counts
 * have no call.  Unicorn keeps both kinds, because cpu.py runs counted slices with another
 * CPU flag (CR0.MP) and a block is only reused under the flags it was translated with.
 *
 * The unit is the retired instruction (one iteration of a REP string instruction counts
 * as one, since Unicorn runs each iteration as a block).  A block is charged once it is
 * known how far it ran:
 *   - at the next block's start, in full (the CPU only leaves a block early through an
 *     exception, and sc_on_interrupt has then charged the part that ran);
 *   - at an exception (sc_on_interrupt, registered as a UC_HOOK_INTR callback ahead of the
 *     kernel's): the instructions before the faulting one, found by decoding the block's
 *     bytes up to it with capstone; the faulting instruction counts when, retried, it
 *     completes (count= counts it at every attempt);
 *   - when the slice ends (sc_end, called from Python): up to where the CPU stopped.
 * A block's instruction count is Unicorn's own (UC_CTL_TB_REQUEST_CACHE), asked for once per
 * translated block and cached under the callback's return address, which lies inside that
 * block's generated code and so names it (checked with the block's address and length: after
 * Unicorn drops its translated code, a new block may be generated where an old one was).
 *
 * The budget: at the start of a block, once the slice has retired `budget` instructions the
 * callback stops the CPU (uc_emu_stop) and the block does not run: Unicorn checks for a stop
 * request right after the block hook.  A slice so retires at least its budget and less than
 * one block (at most 512 instructions) more.
 *
 * ukern's build of Unicorn (emu/unicorn_build.py) does the block hook's part itself, by the
 * same rules, in the check it makes at the start of every block anyway (a helper call that
 * is there with or without hooks): the head of struct slice_counter is its struct
 * uc_block_counter (budget, retired, and the running block's icount, pc and size).  As with
 * the hook, only blocks translated while a counter is set count, and the same CPU flag keeps
 * them apart.  That saves the hook's own call per block, most of what counting cost, and
 * every slice ends at the same instruction as with the hook (tests/test_unicorn_build.py
 * compares whole traces).
 * The rest of this file (exceptions, single steps, the time-stamp counter) is the same for
 * both.
 *
 * The debugger (kernel/trace/gdbstub.py) may single-step a slice as well (sc_on_insn, an
 * instruction hook, with or without the block count): a step limit, a single step's exact
 * count (a faulting instruction is not counted until, retried, it runs), and watchpoints,
 * whose values are compared before every instruction.
 *
 * Nothing here includes Unicorn's or capstone's headers: the few functions it calls are
 * handed over by address (emu/slicecount.py), and the constants are copied below.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <dlfcn.h>

typedef struct uc_struct uc_engine;
typedef int uc_err;
typedef struct {                /* unicorn.h: struct uc_tb */
    uint64_t pc;
    uint16_t icount;
    uint16_t size;
} uc_tb;

typedef uc_err (*uc_emu_stop_fn)(uc_engine *uc);
typedef uc_err (*uc_count_blocks_fn)(uc_engine *uc, void *counter);   /* ukern's Unicorn build */
typedef uc_err (*uc_ctl_fn)(uc_engine *uc, int control, ...);
typedef uc_err (*uc_reg_read_fn)(uc_engine *uc, int regid, void *value);
typedef uc_err (*uc_reg_write_fn)(uc_engine *uc, int regid, const void *value);
typedef uc_err (*uc_vmem_read_fn)(uc_engine *uc, uint64_t address, int prot, void *bytes, size_t size);

typedef size_t csh;             /* capstone.h */
typedef int (*cs_open_fn)(int arch, int mode, csh *handle);
typedef void *(*cs_malloc_fn)(csh handle);
typedef bool (*cs_disasm_iter_fn)(csh handle, const uint8_t **code, size_t *size,
                                  uint64_t *address, void *insn);

/* unicorn.h: UC_CTL(UC_CTL_TB_REQUEST_CACHE, 2 arguments, UC_CTL_IO_READ_WRITE) */
#define UC_CTL_TB_REQUEST_CACHE 8
#define UC_CTL_IO_READ_WRITE 3
#define UC_CTL_REQUEST_TB (UC_CTL_TB_REQUEST_CACHE | (2 << 26) | (UC_CTL_IO_READ_WRITE << 30))
#define UC_PROT_EXEC 4
#define UC_X86_REG_RAX 35          /* unicorn/x86.h */
#define UC_X86_REG_RCX 38
#define UC_X86_REG_RDX 40
#define RDTSC_NS 20                 /* a read of the time-stamp counter takes this long */
#define CS_ARCH_X86 3           /* capstone.h (capstone 5) */
#define CS_MODE_64 (1 << 3)

#define MAX_WATCHES 4           /* as many as x86's debug registers */
#define CACHE_BITS 16
#define CACHE_SIZE (1u << CACHE_BITS)
#define MAX_BLOCK_BYTES 4096    /* QEMU ends an x86 block before it passes a page's length */

struct block_entry {            /* one translated block: where its hook call returns to */
    uintptr_t site;
    uint64_t pc;
    uint32_t size;
    uint32_t icount;
};

struct slice_counter {
    /* shared with Python (emu/slicecount.py, class _Counter, mirrors these fields) */
    uint64_t budget;            /* stop once this many have retired */
    uint64_t retired;           /* instructions of the slice charged so far */
    uint64_t block_icount;      /* the block running now, not charged yet (0: none) ... */
    uint64_t block_pc;          /* ... where it starts (when Unicorn counts, see below) ... */
    uint64_t block_size;        /* ... and its length in bytes */
    uint64_t misses;            /* blocks whose count had to be asked of Unicorn */
    uint64_t cuts;              /* blocks left early (decoded to count what ran) */
    uint64_t undecoded;         /* cut blocks that could not be decoded: charged in full */
    uint64_t steps;             /* single-stepping: instructions to run ... */
    uint64_t stepped;           /* ... and begun so far */
    uint64_t tsc_base;          /* the virtual clock (ns) when the slice began */
    uint64_t tsc_last;          /* the last time-stamp counter value read */
    uint64_t step_pc;           /* single-stepping: the instruction begun last */
    uint64_t watch_count;       /* single-stepping: watched ranges in use (the debugger's) */
    uint64_t watch_hit;         /* 1 + the index of the one whose value changed; 0: none */
    struct watch {              /* a range of at most 8 bytes and its last value */
        uint64_t addr;
        uint64_t len;
        uint64_t known;         /* 0: it could not be read (not mapped) */
        uint64_t value;
        uint64_t hidden;        /* 1: its page is hidden (the stub's read watchpoints): not read */
    } watches[MAX_WATCHES];
    /* private */
    struct block_entry *block;  /* ... and its entry (the hook's) */
    struct block_entry counted; /* that entry, when Unicorn counts */
    uc_count_blocks_fn count_blocks;        /* Unicorn counts: its uc_ukern_count_blocks ... */
    uc_engine *uc;                          /* ... and the instance that counts */
    uint64_t *hook_range;       /* begin, end of the block hook inside Unicorn's struct hook */
    uint64_t *step_range;       /* the same for the instruction hook */
    uc_emu_stop_fn emu_stop;
    uc_ctl_fn ctl;
    uc_reg_read_fn reg_read;
    uc_reg_write_fn reg_write;
    uc_vmem_read_fn vmem_read;
    int rip_id;
    int decoder_state;          /* 0: not loaded yet; 1: ready; -1: unavailable */
    const char *capstone_path;
    cs_disasm_iter_fn disasm_iter;
    csh cs;
    void *insn;
    struct block_entry cache[CACHE_SIZE];
};

/* The block hook's range while no slice is counted: an address no code ever runs at, so the
 * blocks translated meanwhile get no hook call at all (see sc_begin). */
#define NOWHERE UINT64_C(0xFFFFFFFFFFFFFFF0)

/* The head of struct slice_counter is ukern's Unicorn's struct uc_block_counter (see
 * emu/native/unicorn-count-blocks.patch): five 64-bit fields in this order. */
_Static_assert(offsetof(struct slice_counter, budget) == 0 &&
               offsetof(struct slice_counter, retired) == 8 &&
               offsetof(struct slice_counter, block_icount) == 16 &&
               offsetof(struct slice_counter, block_pc) == 24 &&
               offsetof(struct slice_counter, block_size) == 32,
               "struct uc_block_counter's layout");

void sc_on_block(uc_engine *uc, uint64_t pc, uint32_t size, void *user);
void sc_on_insn(uc_engine *uc, uint64_t pc, uint32_t size, void *user);

size_t sc_size(void) { return sizeof(struct slice_counter); }

void sc_init(struct slice_counter *s, void *emu_stop, void *ctl, void *reg_read,
             void *reg_write, void *vmem_read, int rip_id, const char *capstone_path)
{
    s->emu_stop = (uc_emu_stop_fn)emu_stop;
    s->ctl = (uc_ctl_fn)ctl;
    s->reg_read = (uc_reg_read_fn)reg_read;
    s->reg_write = (uc_reg_write_fn)reg_write;
    s->vmem_read = (uc_vmem_read_fn)vmem_read;
    s->rip_id = rip_id;
    s->capstone_path = capstone_path;
    s->budget = UINT64_MAX;
}

/* The hooks were registered with the range [NOWHERE, NOWHERE] and our callbacks and state:
 * find where Unicorn's struct hook (uc_priv.h) keeps that range, which sc_begin and sc_end
 * (sc_step_begin and sc_step_end) then open and close.  Returns 0, or -1 if the layout is
 * not the expected one. */
static uint64_t *find_range(struct slice_counter *s, void *hook, void *callback)
{
    uint64_t *w = hook;
    for (int i = 0; i < 16; i++) {
        if (w[i] == NOWHERE && w[i + 1] == NOWHERE && w[i + 2] == (uintptr_t)callback &&
            w[i + 3] == (uintptr_t)s)
            return &w[i];
    }
    return NULL;
}

int sc_attach_hooks(struct slice_counter *s, void *block_hook, void *insn_hook)
{
    s->hook_range = find_range(s, block_hook, (void *)sc_on_block);
    s->step_range = find_range(s, insn_hook, (void *)sc_on_insn);
    return s->hook_range && s->step_range ? 0 : -1;
}

/* Translated code was dropped: a block's host code may now sit where another's did. */
void sc_forget_blocks(struct slice_counter *s)
{
    for (unsigned i = 0; i < CACHE_SIZE; i++)
        s->cache[i].site = 0;
    s->block = NULL;
    s->block_icount = 0;
}

static inline unsigned slot_of(uintptr_t site)
{
    return (unsigned)((site * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - CACHE_BITS));
}

/* The slow paths, kept out of line so that the common one is a handful of instructions. */
__attribute__((noinline, cold))
static void enter_new_block(struct slice_counter *s, uc_engine *uc, struct block_entry *e,
                            uintptr_t site, uint64_t pc, uint32_t size)
{
    uc_tb tb = {0};
    s->misses++;
    e->site = site;
    e->pc = pc;
    e->size = size;
    /* Unicorn finds the block that is running (it cannot fail for it): count it as one if not */
    e->icount = s->ctl(uc, UC_CTL_REQUEST_TB, pc, &tb) == 0 && tb.pc == pc && tb.icount ? tb.icount : 1;
    s->block = e;
    s->block_icount = e->icount;
}

__attribute__((noinline, cold))
static void budget_spent(struct slice_counter *s, uc_engine *uc)
{
    s->block = NULL;
    s->block_icount = 0;
    s->emu_stop(uc);                        /* checked before this block's first instruction */
}

void sc_on_block(uc_engine *uc, uint64_t pc, uint32_t size, void *user)
{
    struct slice_counter *s = user;
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    struct block_entry *e = &s->cache[slot_of(site)];
    s->retired += s->block_icount;          /* the block before this one ran to its end */
    if (__builtin_expect(s->retired >= s->budget, 0))
        return budget_spent(s, uc);
    if (__builtin_expect(e->site != site || e->pc != pc || e->size != size, 0))
        return enter_new_block(s, uc, e, site, pc, size);
    s->block = e;
    s->block_icount = e->icount;
}

/* ukern's build of Unicorn (emu/unicorn_build.py) counts the blocks itself, from the check
 * it makes at every block's start anyway, with no call of its own: budget, retired and the
 * running block's icount, pc and size, at the head of struct slice_counter, are its struct
 * uc_block_counter, and follow the rules sc_on_block follows.  `count_blocks` is that
 * build's uc_ukern_count_blocks. */
void sc_use_unicorn_count(struct slice_counter *s, uc_engine *uc, void *count_blocks)
{
    s->uc = uc;
    s->count_blocks = (uc_count_blocks_fn)count_blocks;
}

/* The block running now, if any, whoever counts. */
static struct block_entry *running_block(struct slice_counter *s)
{
    if (!s->count_blocks)
        return s->block;
    if (!s->block_icount)
        return NULL;
    s->counted.pc = s->block_pc;
    s->counted.size = (uint32_t)s->block_size;
    s->counted.icount = (uint32_t)s->block_icount;
    return &s->counted;
}

static bool load_decoder(struct slice_counter *s)
{
    if (s->decoder_state)
        return s->decoder_state > 0;
    s->decoder_state = -1;
    void *lib = s->capstone_path ? dlopen(s->capstone_path, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!lib)
        return false;
    cs_open_fn cs_open = (cs_open_fn)dlsym(lib, "cs_open");
    cs_malloc_fn cs_malloc = (cs_malloc_fn)dlsym(lib, "cs_malloc");
    s->disasm_iter = (cs_disasm_iter_fn)dlsym(lib, "cs_disasm_iter");
    if (!cs_open || !cs_malloc || !s->disasm_iter || cs_open(CS_ARCH_X86, CS_MODE_64, &s->cs) != 0)
        return false;
    s->insn = cs_malloc(s->cs);
    if (!s->insn)
        return false;
    s->decoder_state = 1;
    return true;
}

/* How many instructions start in [pc, stop): -1 if that cannot be told. */
static int64_t count_before(struct slice_counter *s, uc_engine *uc, uint64_t pc, uint64_t stop)
{
    uint8_t code[MAX_BLOCK_BYTES + 16];
    size_t left = stop - pc;
    if (left > sizeof code || !load_decoder(s) || s->vmem_read(uc, pc, UC_PROT_EXEC, code, left) != 0)
        return -1;
    const uint8_t *p = code;
    uint64_t address = pc;
    int64_t n = 0;
    while (left && s->disasm_iter(s->cs, &p, &left, &address, s->insn))
        n++;
    return left ? -1 : n;
}

/* The running block ended with the CPU at `rip`: charge what of it ran. */
static void settle(struct slice_counter *s, uc_engine *uc, uint64_t rip)
{
    struct block_entry *e = running_block(s);
    uint64_t n = s->block_icount;
    s->block = NULL;
    s->block_icount = 0;
    if (!e)
        return;
    if (rip == e->pc) {
        n = 0;                              /* stopped before its first instruction */
    } else if (rip > e->pc && rip < e->pc + e->size) {
        int64_t ran = count_before(s, uc, e->pc, rip);
        s->cuts++;
        if (ran >= 0 && (uint64_t)ran < n)
            n = (uint64_t)ran;
        else
            s->undecoded++;
    }                                       /* else: it ran to its end (and jumped, or trapped) */
    s->retired += n;
}

void sc_on_interrupt(uc_engine *uc, uint32_t intno, void *user)
{
    struct slice_counter *s = user;
    uint64_t rip = 0;
    (void)intno;
    if (s->step_range[0] == 1 && s->stepped) {
        /* stepping: an instruction that faulted did not retire; it is begun again once the
         * fault is handled, and counted then (as a counted slice counts it) */
        s->reg_read(uc, s->rip_id, &rip);
        if (rip == s->step_pc)
            s->stepped--;
    }
    if (!running_block(s))
        return;
    s->reg_read(uc, s->rip_id, &rip);
    settle(s, uc, rip);
}

/* A counted slice is about to start: stop it once `budget` instructions have retired.
 * Blocks translated from now on are counted (by Unicorn where it counts, else they call
 * the hook), and the CPU's flags select those blocks for counted slices only (cpu.py:
 * CR0.MP). */
void sc_begin(struct slice_counter *s, uint64_t budget)
{
    s->budget = budget;
    s->retired = 0;
    s->block = NULL;
    s->block_icount = 0;
    if (s->count_blocks) {
        s->count_blocks(s->uc, s);
        return;
    }
    s->hook_range[0] = 1;                   /* begin > end: every address */
    s->hook_range[1] = 0;
}

/* The slice has ended: charge the block it was in; return the instructions it retired. */
uint64_t sc_end(struct slice_counter *s, uc_engine *uc)
{
    if (s->count_blocks)
        s->count_blocks(s->uc, NULL);
    if (running_block(s)) {
        uint64_t rip = 0;
        s->reg_read(uc, s->rip_id, &rip);
        settle(s, uc, rip);
    }
    s->budget = UINT64_MAX;
    if (!s->count_blocks)
        s->hook_range[0] = s->hook_range[1] = NOWHERE;
    return s->retired;
}

/* Single-stepping (the debugger): an instruction hook, called before every instruction of
 * the blocks translated while its range is open, stops the CPU before instruction
 * `steps` + 1.  Unlike emu_start(count=), which adds and later deletes a hook of its own,
 * nothing is ever deleted: deleting a hook makes Unicorn look up, in the address space of
 * the moment, every page the hook was in, and a page not mapped there leaves a bogus page
 * fault pending for the next emu_start.  The caller drops translated code on the way in
 * and out (cpu.py), so that the hook is in every block while stepping and in none after. */
/* Watchpoints while stepping: has a watched value changed since it was last looked at?
 * Looked at before every instruction, so a change is the previous instruction's doing (or
 * the kernel's, between slices).  Returns 1 + the index of the first that changed.
 * A range whose page the stub hides for a while (its read watchpoints, gdbwatch.py) is not
 * read then: reading a page that is not present leaves a page fault pending in the CPU.
 * A write to it faults, and the stub steps that instruction with the page shown. */
static uint64_t watch_changed(struct slice_counter *s, uc_engine *uc)
{
    for (uint64_t i = 0; i < s->watch_count && i < MAX_WATCHES; i++) {
        struct watch *w = &s->watches[i];
        uint64_t now = 0;
        if (w->hidden)
            continue;
        int readable = s->vmem_read(uc, w->addr, 1 /* UC_PROT_READ */, &now, w->len) == 0;
        if (!readable) {
            w->known = 0;
            continue;
        }
        uint64_t was = w->value, known = w->known;
        w->value = now;
        w->known = 1;
        if (known && now != was)
            return i + 1;
    }
    return 0;
}

/* The same between two instructions, from a callback (the stub, once a system call has
 * written into a hidden page with the page shown): 1 + the index of the one that changed. */
uint64_t sc_watch_check(struct slice_counter *s, uc_engine *uc)
{
    if (s->watch_count && !s->watch_hit)
        s->watch_hit = watch_changed(s, uc);
    return s->watch_hit;
}

void sc_on_insn(uc_engine *uc, uint64_t pc, uint32_t size, void *user)
{
    struct slice_counter *s = user;
    (void)size;
    if (s->watch_count && !s->watch_hit && (s->watch_hit = watch_changed(s, uc)) != 0) {
        s->emu_stop(uc);                    /* stop after the instruction that wrote it */
        return;
    }
    if (s->stepped >= s->steps) {
        s->emu_stop(uc);                    /* checked before this instruction runs */
        return;
    }
    s->step_pc = pc;
    s->stepped++;
}

void sc_step_begin(struct slice_counter *s, uint64_t steps)
{
    s->steps = steps;
    s->stepped = 0;
    s->step_range[0] = 1;
    s->step_range[1] = 0;
}

void sc_step_end(struct slice_counter *s)
{
    s->step_range[0] = s->step_range[1] = NOWHERE;
}

/* RDTSC and RDTSCP (UC_HOOK_INSN callbacks).  Unicorn would return the host's time-stamp
 * counter, and a guest that reads it (the Go runtime seeds its random numbers with it) would
 * run differently each time.  Here the counter is the virtual clock, one tick a nanosecond:
 * its value when the slice began plus the instructions the slice has run, and never less
 * than the last value read plus the read's own cost, so that it moves even in an uncounted
 * slice (whose instructions the clock does not see) and never goes backwards. */
static void read_tsc(struct slice_counter *s, uc_engine *uc)
{
    uint64_t now = s->tsc_base + s->retired + s->block_icount;
    if (now < s->tsc_last + RDTSC_NS)
        now = s->tsc_last + RDTSC_NS;
    s->tsc_last = now;
    uint64_t lo = (uint32_t)now, hi = now >> 32;      /* both zero-extended, as RDTSC does */
    s->reg_write(uc, UC_X86_REG_RAX, &lo);
    s->reg_write(uc, UC_X86_REG_RDX, &hi);
}

uint32_t sc_on_rdtsc(uc_engine *uc, void *user)
{
    read_tsc(user, uc);
    return 1;                               /* Unicorn: do not run the instruction itself */
}

uint32_t sc_on_rdtscp(uc_engine *uc, void *user)
{
    uint64_t cpu = 0;                       /* TSC_AUX: the number of the (only) CPU */
    read_tsc(user, uc);
    ((struct slice_counter *)user)->reg_write(uc, UC_X86_REG_RCX, &cpu);
    return 1;
}
