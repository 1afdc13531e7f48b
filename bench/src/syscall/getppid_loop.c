/* getppid_loop ITERS: times ITERS calls of syscall(SYS_getppid) with
 * clock_gettime(CLOCK_MONOTONIC) around the loop (vDSO, so not a trapped syscall
 * where a vDSO is provided) and prints
 *   iters=N ns_per_call=X checksum=S
 * where S is the sum of the results, printed so the loop cannot be optimised away. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: getppid_loop ITERS\n");
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
