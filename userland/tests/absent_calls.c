/* Calls ukern leaves out on purpose (sockets, rseq) fail with ENOSYS; time() agrees with
 * gettimeofday(). */
#include <errno.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

int main(void) {
    begin("absent_calls");
    errno = 0;
    check_eq("socket(AF_INET, SOCK_STREAM, 0)", -1, syscall(SYS_socket, 2, 1, 0));
    check_eq("socket: errno", ENOSYS, errno);
    errno = 0;
    check_eq("rseq(NULL, 0, 0, 0)", -1, syscall(334, 0, 0, 0, 0));
    check_eq("rseq: errno", ENOSYS, errno);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t stored = 0;
    time_t now = syscall(SYS_time, &stored);
    check_eq("time() stores what it returns", now, stored);
    check("time() is gettimeofday's second", now == tv.tv_sec || now == tv.tv_sec + 1);
    end();
}
