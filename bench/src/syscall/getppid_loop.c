/* getppid_loop ITERS [wrapper]: times ITERS calls of syscall(SYS_getppid) (or, with
 * `wrapper`, of glibc's getppid(), whose `mov $nr,%eax; syscall` site the seccomp
 * platform can patch) with
 * clock_gettime(CLOCK_MONOTONIC) around the loop (vDSO, so not a trapped syscall
 * where a vDSO is provided) and prints
 *   iters=N ns_per_call=X checksum=S
 * where S is the sum of the results, printed so the loop cannot be optimised away. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: getppid_loop ITERS [wrapper]\n");
        return 2;
    }
    int wrapper = argc == 3;
    if (wrapper && strcmp(argv[2], "wrapper") != 0) {
        fprintf(stderr, "getppid_loop: unknown mode: %s\n", argv[2]);
        return 2;
    }
    char *end;
    unsigned long long iters = strtoull(argv[1], &end, 10);
    if (*end != '\0' || iters == 0) {
        fprintf(stderr, "getppid_loop: bad ITERS: %s\n", argv[1]);
        return 2;
    }
    struct timespec t0, t1;
    unsigned long long sum = 0;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) {
        perror("clock_gettime");
        return 1;
    }
    if (wrapper)
        for (unsigned long long i = 0; i < iters; i++)
            sum += (unsigned long long)getppid();
    else
        for (unsigned long long i = 0; i < iters; i++)
            sum += (unsigned long long)syscall(SYS_getppid);
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) {
        perror("clock_gettime");
        return 1;
    }
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("iters=%llu ns_per_call=%.3f checksum=%llu\n", iters, ns / (double)iters, sum);
    return 0;
}
