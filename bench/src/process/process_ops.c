/* process_ops OP ITERS: times ITERS repetitions of one process or thread operation with
 * clock_gettime(CLOCK_MONOTONIC) around the loop and prints
 *   op=OP iters=N ns_per_op=X checksum=S
 * where S folds in what each operation returned (exit statuses, echoed bytes, thread
 * results), so the loop cannot be optimised away.
 *
 * OP is one of
 *   fork       fork; the child _exits at once; waitpid
 *   exec       fork; the child execs this program (the path argv[0] resolves to,
 *              found with realpath at start) with the single argument `exit`, which
 *              makes it exit at once; waitpid
 *   pipe       one round trip: this process writes 1 byte into a pipe, a child forked
 *              before timing reads it and writes it back through a second pipe, this
 *              process reads it
 *   thread     pthread_create + pthread_join of a thread that returns its argument
 *   sh         fork; the child execs /bin/sh -c true; waitpid
 * `process_ops exit` exits with status 0 at once (the exec row's child).
 * Any failed call, or a child that does not exit with status 0, ends the program with
 * status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what) {
    fprintf(stderr, "process_ops: %s: %s\n", what, strerror(errno));
    return 1;
}

/* Waits for `pid`, which must exit with status 0. */
static int reap(pid_t pid, const char *what) {
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return fail("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "process_ops: %s child: wait status %#x\n", what, status);
        return 1;
    }
    return 0;
}

static int op_fork(unsigned long long iters, unsigned long long *sum) {
    for (unsigned long long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0)
            _exit(0);
        if (reap(pid, "fork") != 0)
            return 1;
        *sum += 1;
    }
    return 0;
}

/* fork + execve(path, argv) + waitpid, ITERS times. */
static int op_spawn(unsigned long long iters, const char *path, char *const argv[],
                    unsigned long long *sum) {
    for (unsigned long long i = 0; i < iters; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0) {
            execve(path, argv, environ);
            fprintf(stderr, "process_ops: execve %s: %s\n", path, strerror(errno));
            _exit(127);
        }
        if (reap(pid, path) != 0)
            return 1;
        *sum += 1;
    }
    return 0;
}

static int op_pipe(unsigned long long iters, unsigned long long *sum) {
    int to_child[2], to_parent[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(to_parent, O_CLOEXEC) != 0)
        return fail("pipe2");
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        /* Echo each byte until the parent closes its end. */
        close(to_child[1]);
        close(to_parent[0]);
        char c;
        for (;;) {
            ssize_t n = read(to_child[0], &c, 1);
            if (n == 0)
                _exit(0);
            if (n != 1 || write(to_parent[1], &c, 1) != 1)
                _exit(1);
        }
    }
    close(to_child[0]);
    close(to_parent[1]);
    int rc = 0;
    for (unsigned long long i = 0; i < iters; i++) {
        char out = (char)(i & 0x7f), in;
        if (write(to_child[1], &out, 1) != 1) {
            rc = fail("write");
            break;
        }
        if (read(to_parent[0], &in, 1) != 1) {
            rc = fail("read");
            break;
        }
        *sum += (unsigned char)in;
    }
    close(to_child[1]);
    close(to_parent[0]);
    if (reap(pid, "pipe echo") != 0)
        rc = 1;
    return rc;
}

static void *thread_body(void *arg) {
    return arg;
}

static int op_thread(unsigned long long iters, unsigned long long *sum) {
    for (unsigned long long i = 0; i < iters; i++) {
        pthread_t t;
        void *ret;
        int err = pthread_create(&t, NULL, thread_body, (void *)(uintptr_t)(i & 0xff));
        if (err != 0) {
            errno = err;
            return fail("pthread_create");
        }
        err = pthread_join(t, &ret);
        if (err != 0) {
            errno = err;
            return fail("pthread_join");
        }
        *sum += (uintptr_t)ret;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "exit") == 0)
        _exit(0);
    if (argc != 3) {
        fprintf(stderr, "usage: process_ops fork|exec|pipe|thread|sh ITERS\n");
        return 2;
    }
    const char *op = argv[1];
    char *end;
    unsigned long long iters = strtoull(argv[2], &end, 10);
    if (*end != '\0' || iters == 0) {
        fprintf(stderr, "process_ops: bad ITERS: %s\n", argv[2]);
        return 2;
    }

    /* Set up outside the timed loop. */
    static char self[PATH_MAX];
    char *self_argv[] = {"process_ops", "exit", NULL};
    char *sh_argv[] = {"sh", "-c", "true", NULL};
    if (strcmp(op, "exec") == 0) {
        if (realpath(argv[0], self) == NULL) {
            fprintf(stderr, "process_ops: realpath %s: %s\n", argv[0], strerror(errno));
            return 1;
        }
    } else if (strcmp(op, "sh") == 0) {
        if (access("/bin/sh", X_OK) != 0)
            return fail("access /bin/sh");
    } else if (strcmp(op, "fork") != 0 && strcmp(op, "pipe") != 0 &&
               strcmp(op, "thread") != 0) {
        fprintf(stderr, "process_ops: unknown operation: %s\n", op);
        return 2;
    }

    struct timespec t0, t1;
    unsigned long long sum = 0;
    int rc;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0)
        return fail("clock_gettime");
    if (strcmp(op, "fork") == 0)
        rc = op_fork(iters, &sum);
    else if (strcmp(op, "exec") == 0)
        rc = op_spawn(iters, self, self_argv, &sum);
    else if (strcmp(op, "pipe") == 0)
        rc = op_pipe(iters, &sum);
    else if (strcmp(op, "thread") == 0)
        rc = op_thread(iters, &sum);
    else
        rc = op_spawn(iters, "/bin/sh", sh_argv, &sum);
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0)
        return fail("clock_gettime");
    if (rc != 0)
        return rc;

    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("op=%s iters=%llu ns_per_op=%.3f checksum=%llu\n", op, iters, ns / (double)iters, sum);
    return 0;
}
