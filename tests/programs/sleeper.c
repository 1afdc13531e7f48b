/* Sleeps argv[1] milliseconds in 10 ms nanosleep steps, then ends as argv[2]
 * says: "exit" (status 0) or "segv" (null store). With argv[3] "tree", first
 * forks two children (one of which starts a thread) that sleep as long.
 * Used by the cleanup tests. */
#include "common.h"
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

static void *sleep_thread(void *arg) {
    long ms = (long)arg;
    for (long i = 0; i < ms / 10; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    long ms = argc > 1 ? atol(argv[1]) : 100;
    const char *how = argc > 2 ? argv[2] : "exit";
    if (argc > 3 && strcmp(argv[3], "tree") == 0) {
        for (int c = 0; c < 2; c++) {
            if (fork() == 0) {
                pthread_t t;
                if (c == 1)
                    pthread_create(&t, NULL, sleep_thread, (void *)ms);
                sleep_thread((void *)ms);
                _exit(0);
            }
        }
    }
    for (long i = 0; i < ms / 10; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    say_and_flush("woke up");
    if (strcmp(how, "segv") == 0)
        *(volatile int *)0 = 1;
    return 0;
}
