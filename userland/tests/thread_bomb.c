/* Creating threads without end stops at the task limit (EAGAIN), which prlimit64 reports
 * as RLIMIT_NPROC; every thread created then finishes and is joined. */
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>

#define MAX 4096
static pthread_t t[MAX];
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void *wait_at_gate(void *arg)
{
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    return NULL;
}

int main(void)
{
    begin("thread_bomb");
    struct rlimit rl;
    check_eq("getrlimit(RLIMIT_NPROC)", 0, getrlimit(RLIMIT_NPROC, &rl));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16384);
    pthread_mutex_lock(&gate);
    int n = 0, err = 0;
    while (n < MAX && !(err = pthread_create(&t[n], &attr, wait_at_gate, NULL)))
        n++;
    check_eq("pthread_create past the limit", EAGAIN, err);
    check("the limit is below RLIMIT_NPROC", n > 100 && n < (long)rl.rlim_cur);
    pthread_mutex_unlock(&gate);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    check_eq("a thread again after they all ended", 0, pthread_create(&t[0], NULL, wait_at_gate, NULL));
    pthread_join(t[0], NULL);
    end();
}
