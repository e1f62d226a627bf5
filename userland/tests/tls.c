/* Thread-local storage works: musl sets the FS base with arch_prctl. */
#include "check.h"

static __thread int counter = 41;

int main(void)
{
    begin("tls");
    counter++;
    check_eq("__thread variable starts at its initial value and counts", 42, counter);
    end();
}
