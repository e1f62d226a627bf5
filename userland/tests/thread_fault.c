/* A thread that dereferences NULL kills its whole process; the kernel's report names the
 * thread (the host-side test reads it). */
#include "check.h"
#include <pthread.h>
#include <unistd.h>

static void *crash(void *arg)
{
    volatile int *p = arg;
    *p = 1;
    return NULL;
}

int main(void)
{
    begin("thread_fault");
    pthread_t t;
    pthread_create(&t, NULL, crash, NULL);
    pthread_join(t, NULL);
    fail("the process outlived its faulting thread");
}
