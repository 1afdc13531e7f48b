/* Shared helpers for the differential test programs.
 *
 * Every program prints what it observes, one fact per line, and ends with
 * finish(): "PASS" and exit 0, or "FAILED" and exit 1. Values that differ
 * from run to run (addresses, times, random bytes) are never printed raw;
 * programs print properties of them instead. */
#ifndef RUNSC_TEST_COMMON_H
#define RUNSC_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static inline const char *errname(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "?";
}

/* CHECK(cond): prints "ok   cond" or "FAIL cond". */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            printf("ok   %s\n", #cond);                                        \
        } else {                                                               \
            printf("FAIL %s (line %d, errno %s)\n", #cond, __LINE__,           \
                   errname(errno));                                            \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* EXPECT_ERRNO(call, E): the call must return -1 (or MAP_FAILED) with errno E. */
#define EXPECT_ERRNO(call, err)                                                \
    do {                                                                       \
        errno = 0;                                                             \
        long r_ = (long)(call);                                                \
        int e_ = errno;                                                        \
        if (r_ == -1 && e_ == (err)) {                                         \
            printf("ok   %s -> %s\n", #call, #err);                            \
        } else {                                                               \
            printf("FAIL %s -> ret %ld errno %s, want %s (line %d)\n", #call,  \
                   r_, errname(e_), #err, __LINE__);                           \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static inline int finish(void) {
    printf("%s\n", failures ? "FAILED" : "PASS");
    fflush(stdout);
    return failures ? 1 : 0;
}

/* Prints `msg` and flushes, for programs that are about to die by a signal. */
static inline void say_and_flush(const char *msg) {
    printf("%s\n", msg);
    fflush(stdout);
}

#endif
