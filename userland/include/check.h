/* Pintos-style checks for guest test programs.
 *
 * A test prints "(name) begin", one line per thing it checks, and "(name) end".  A failed
 * check prints "(name) FAIL: what: expected X, got Y" and exits with status 1, so the
 * host-side test sees both the output and the exit status.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *test_name = "test";

#define msg(...) do { printf("(%s) ", test_name); printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

#define begin(name) do { test_name = (name); setvbuf(stdout, NULL, _IONBF, 0); msg("begin"); } while (0)
#define end() do { msg("end"); exit(0); } while (0)

#define fail(...) do { printf("(%s) FAIL: ", test_name); printf(__VA_ARGS__); printf("\n"); exit(1); } while (0)

/* Check that two integers are equal, saying what was checked. */
#define check_eq(what, expected, got) do { \
        long long e_ = (long long)(expected), g_ = (long long)(got); \
        if (e_ != g_) fail("%s: expected %lld, got %lld", (what), e_, g_); \
        msg("%s: %lld", (what), g_); \
    } while (0)

#define check(what, cond) do { \
        if (!(cond)) fail("%s: expected true, got false", (what)); \
        msg("%s", (what)); \
    } while (0)

#endif
