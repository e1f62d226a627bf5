/* Floating point starts as Linux starts it: the x87 control word 0x37F (64-bit precision,
 * exceptions masked), every x87 register empty, MXCSR 0x1F80; so printf prints doubles
 * exactly and long double maths has its full 64-bit mantissa.  The same holds after an
 * execve from a program that had changed both control registers. */
#include "check.h"
#include <unistd.h>

struct x87_env { unsigned short cw, r0, sw, r1, tag, r2; unsigned rest[4]; };

static void check_fpu(const char *when)
{
    unsigned short cw;
    unsigned mxcsr;
    struct x87_env env;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstenv %0" : "=m"(env));
    __asm__ volatile("fldcw %0" : : "m"(env.cw));      /* fnstenv masked exceptions: put cw back */
    msg("%s", when);
    check_eq("x87 control word", 0x37F, cw);
    check_eq("x87 tag word (all empty)", 0xFFFF, env.tag);
    check_eq("MXCSR", 0x1F80, mxcsr);

    char buf[64];
    snprintf(buf, sizeof buf, "%.20f", 0.1);
    check("printf(\"%.20f\", 0.1) is 0.10000000000000000555", strcmp(buf, "0.10000000000000000555") == 0);
    volatile long double third = 1.0L, three = 3.0L;
    snprintf(buf, sizeof buf, "%.25Lf", third / three);
    check("1.0L/3.0L is 0.3333333333333333333423684", strcmp(buf, "0.3333333333333333333423684") == 0);
    volatile long double big = 1e18L;
    check("long double keeps 64 mantissa bits (1e18 + 1 != 1e18)", big + 1.0L != big);
}

int main(int argc, char **argv)
{
    begin("fpu_init");
    check_fpu(argc > 1 ? "after execve" : "first process");
    if (argc > 1)
        end();
    unsigned short cw = 0x7F;          /* single precision */
    unsigned mxcsr = 0x7F80;           /* round toward zero */
    __asm__ volatile("fldcw %0" : : "m"(cw));
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    __asm__ volatile("fld1; fld1; fld1");   /* three registers in use */
    execl(argv[0], argv[0], "again", (char *)0);
    fail("execl: returned");
}
