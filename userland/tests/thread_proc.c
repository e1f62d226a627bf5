/* /proc counts a process's threads: Threads in status, field 20 of stat, and one
 * directory per thread under /proc/self/task. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static pthread_barrier_t started, done;

static void *idle(void *arg) {
    (void)arg;
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&done);
    return NULL;
}

static long status_threads(void) {
    char line[256];
    long n = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %ld", &n) == 1) break;
    fclose(f);
    return n;
}

static long stat_threads(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')');           /* fields after the name, from field 3 */
    long n = -1;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 20) { sscanf(tok, "%ld", &n); break; }
    return n;
}

static int task_entries(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

int main(void) {
    begin("thread_proc");
    check_eq("Threads alone", 1, status_threads());
    pthread_barrier_init(&started, NULL, 3);
    pthread_barrier_init(&done, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, idle, NULL);
    pthread_barrier_wait(&started);
    check_eq("Threads in /proc/self/status", 3, status_threads());
    check_eq("num_threads in /proc/self/stat", 3, stat_threads());
    check_eq("entries of /proc/self/task", 3, task_entries());
    pthread_barrier_wait(&done);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    check_eq("Threads after the joins", 1, status_threads());
    end();
}
