/* Threads under gdb (tests/test_reverse.py): `info threads` lists the workers, `thread N`
 * looks at one of them. */
#include <pthread.h>
#include <stdio.h>

static volatile int done[2];

__attribute__((noinline)) static void work(int id)
{
    done[id] = id + 10;
}

static void *worker(void *arg)
{
    work((int)(long)arg);
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("gdbthreads: %d %d\n", done[0], done[1]);
    return 0;
}
