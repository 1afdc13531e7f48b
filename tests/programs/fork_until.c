/* Forks up to N children (argv[1]) that wait, stopping at the first failure; prints how
 * many it made and the error. The OCI tests run it under a pids limit (the N+1th task
 * gets EAGAIN); natively it just makes its N children. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    int max = argc > 1 ? atoi(argv[1]) : 3;
    pid_t kids[256];
    int n = 0, err = 0;
    if (max > 256)
        max = 256;
    while (n < max) {
        pid_t p = fork();
        if (p < 0) {
            err = errno;
            break;
        }
        if (p == 0) {
            pause();
            _exit(0);
        }
        kids[n++] = p;
    }
    printf("forked %d%s%s\n", n, err ? " then " : "", err ? errname(err) : "");
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    return 0;
}
