/* Sleeps argv[1] milliseconds in 10 ms nanosleep steps, then ends as argv[2]
 * says: "exit" (status 0) or "segv" (null store). Used by the cleanup tests. */
#include "common.h"
#include <time.h>

int main(int argc, char **argv) {
    long ms = argc > 1 ? atol(argv[1]) : 100;
    const char *how = argc > 2 ? argv[2] : "exit";
    for (long i = 0; i < ms / 10; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    say_and_flush("woke up");
    if (strcmp(how, "segv") == 0)
        *(volatile int *)0 = 1;
    return 0;
}
