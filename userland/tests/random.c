/* getrandom is seeded and deterministic: two runs print the same bytes. */
#include "check.h"
#include <sys/random.h>

int main(void)
{
    begin("random");
    unsigned char buf[8];
    check_eq("getrandom fills 8 bytes", 8, getrandom(buf, sizeof buf, 0));
    msg("bytes %02x%02x%02x%02x%02x%02x%02x%02x", buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]);
    end();
}
