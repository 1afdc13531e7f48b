/* file_ops OP ITERS PATH: times ITERS repetitions of one file operation with
 * clock_gettime(CLOCK_MONOTONIC) around the loop and prints
 *   op=OP iters=N ns_per_op=X checksum=S
 * where S folds in what each operation returned, so the loop cannot be optimised away.
 *
 * OP is one of
 *   stat           stat(PATH)
 *   open-read      open(PATH) + read of its first 4 KiB + close
 *   open-read-new  the same on a 4 KiB file this program creates in directory PATH
 *                  (written before timing, removed after)
 *   seq-read       one op = 1 MiB read from PATH in 64 KiB reads; the file is opened
 *                  once and read from start to end, starting over at the start when
 *                  fewer than 1 MiB is left
 * A short read or any failed call ends the program with status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL (4 * 1024)
#define CHUNK (64 * 1024)
#define MIB (1024 * 1024)

static char buf[CHUNK];

static int fail(const char *what, const char *path) {
    fprintf(stderr, "file_ops: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

/* Reads exactly `len` bytes into buf, or fails. */
static int read_exact(int fd, size_t len, const char *path) {
    ssize_t n = read(fd, buf, len);
    if (n < 0)
        return fail("read", path);
    if ((size_t)n != len) {
        fprintf(stderr, "file_ops: read %s: %zd bytes, expected %zu\n", path, n, len);
        return 1;
    }
    return 0;
}

static int op_stat(unsigned long long iters, const char *path, unsigned long long *sum) {
    struct stat st;
    for (unsigned long long i = 0; i < iters; i++) {
        if (stat(path, &st) != 0)
            return fail("stat", path);
        *sum += (unsigned long long)st.st_size;
    }
    return 0;
}

static int op_open_read(unsigned long long iters, const char *path, unsigned long long *sum) {
    for (unsigned long long i = 0; i < iters; i++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail("open", path);
        if (read_exact(fd, SMALL, path) != 0)
            return 1;
        if (close(fd) != 0)
            return fail("close", path);
        *sum += (unsigned char)buf[i % SMALL];
    }
    return 0;
}

static int op_seq_read(unsigned long long iters, int fd, off_t size, const char *path,
                       unsigned long long *sum) {
    off_t pos = 0;
    for (unsigned long long i = 0; i < iters; i++) {
        if (size - pos < MIB) {
            if (lseek(fd, 0, SEEK_SET) != 0)
                return fail("lseek", path);
            pos = 0;
        }
        for (int c = 0; c < MIB / CHUNK; c++) {
            if (read_exact(fd, CHUNK, path) != 0)
                return 1;
            *sum += (unsigned char)buf[c];
        }
        pos += MIB;
    }
    return 0;
}

/* Writes a SMALL-byte file at `path` (created or truncated). */
static int make_small_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail("create", path);
    for (int i = 0; i < SMALL; i++)
        buf[i] = (char)(i * 7 + 1);
    if (write(fd, buf, SMALL) != SMALL) {
        close(fd);
        return fail("write", path);
    }
    if (close(fd) != 0)
        return fail("close", path);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: file_ops stat|open-read|open-read-new|seq-read ITERS PATH\n");
        return 2;
    }
    const char *op = argv[1];
    const char *path = argv[3];
    char *end;
    unsigned long long iters = strtoull(argv[2], &end, 10);
    if (*end != '\0' || iters == 0) {
        fprintf(stderr, "file_ops: bad ITERS: %s\n", argv[2]);
        return 2;
    }

    /* Set up outside the timed loop. */
    char scratch[4096];
    int fd = -1;
    off_t size = 0;
    if (strcmp(op, "open-read-new") == 0) {
        int n = snprintf(scratch, sizeof scratch, "%s/file_ops-%d.dat", path, (int)getpid());
        if (n < 0 || (size_t)n >= sizeof scratch) {
            fprintf(stderr, "file_ops: directory name too long: %s\n", path);
            return 2;
        }
        if (make_small_file(scratch) != 0)
            return 1;
        path = scratch;
    } else if (strcmp(op, "seq-read") == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
            return fail("open", path);
        if (fstat(fd, &st) != 0)
            return fail("fstat", path);
        if (st.st_size < MIB) {
            fprintf(stderr, "file_ops: %s: %lld bytes, need at least 1 MiB\n", path,
                    (long long)st.st_size);
            return 1;
        }
        size = st.st_size;
    } else if (strcmp(op, "stat") != 0 && strcmp(op, "open-read") != 0) {
        fprintf(stderr, "file_ops: unknown operation: %s\n", op);
        return 2;
    }

    struct timespec t0, t1;
    unsigned long long sum = 0;
    int rc;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0)
        return fail("clock_gettime", "");
    if (strcmp(op, "stat") == 0)
        rc = op_stat(iters, path, &sum);
    else if (strcmp(op, "seq-read") == 0)
        rc = op_seq_read(iters, fd, size, path, &sum);
    else
        rc = op_open_read(iters, path, &sum);
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0)
        return fail("clock_gettime", "");

    if (path == scratch && unlink(scratch) != 0 && rc == 0)
        rc = fail("unlink", scratch);
    if (rc != 0)
        return rc;
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("op=%s iters=%llu ns_per_op=%.3f checksum=%llu\n", op, iters, ns / (double)iters, sum);
    return 0;
}
