/* System V semaphores between processes: values, GETALL/SETALL, atomic semops,
 * IPC_NOWAIT, a blocking semop woken by another process (with GETNCNT/GETZCNT while
 * it waits), SEM_UNDO applied when a process exits, EIDRM for a waiter whose set is
 * removed, semtimedop's timeout, EINTR after a signal handler even with SA_RESTART,
 * and errors. */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int op(int id, int num, int delta, int flags) {
    struct sembuf b = {(unsigned short)num, (short)delta, (short)flags};
    return semop(id, &b, 1);
}

static void sleep_ms(long ms) {
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
}

static long ms_since(struct timespec a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

/* Waits (up to 5 s) until semctl(cmd) on semaphore num reads `want`. */
static int wait_count(int id, int num, int cmd, int want) {
    for (int i = 0; i < 500; i++) {
        if (semctl(id, num, cmd) == want)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0);
    CHECK(ds.sem_nsems == 3 && ds.sem_otime == 0 && ds.sem_ctime != 0);
    CHECK((ds.sem_perm.mode & 0777) == 0600);
    CHECK(semctl(id, 0, GETVAL) == 0 && semctl(id, 2, GETVAL) == 0);
    CHECK(semctl(id, 1, SETVAL, (union semun){.val = 5}) == 0);
    CHECK(semctl(id, 1, GETVAL) == 5 && semctl(id, 1, GETPID) == getpid());
    unsigned short all[3] = {1, 2, 3}, got[3] = {0, 0, 0};
    CHECK(semctl(id, 0, SETALL, (union semun){.array = all}) == 0);
    CHECK(semctl(id, 0, GETALL, (union semun){.array = got}) == 0);
    CHECK(got[0] == 1 && got[1] == 2 && got[2] == 3);

    /* Atomic: all or nothing. */
    struct sembuf two[2] = {{0, -1, 0}, {1, -5, IPC_NOWAIT}};
    EXPECT_ERRNO(semop(id, two, 2), EAGAIN);
    CHECK(semctl(id, 0, GETVAL) == 1 && semctl(id, 1, GETVAL) == 2);
    struct sembuf ok2[2] = {{0, -1, 0}, {2, 4, 0}};
    CHECK(semop(id, ok2, 2) == 0);
    CHECK(semctl(id, 0, GETVAL) == 0 && semctl(id, 2, GETVAL) == 7);
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_otime != 0);
    /* The same semaphore twice in one call adds up. */
    struct sembuf twice[2] = {{1, 3, 0}, {1, -4, 0}};
    CHECK(semop(id, twice, 2) == 0 && semctl(id, 1, GETVAL) == 1);
    EXPECT_ERRNO(op(id, 0, -1, IPC_NOWAIT), EAGAIN);
    EXPECT_ERRNO(op(id, 2, 0, IPC_NOWAIT), EAGAIN);

    /* A blocked decrement, woken by another process; GETNCNT sees it wait. */
    pid_t pid = fork();
    if (pid == 0) {
        if (!wait_count(id, 0, GETNCNT, 1))
            _exit(1);
        sleep_ms(30);
        _exit(op(id, 0, 1, 0) == 0 ? 0 : 2);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(op(id, 0, -1, 0) == 0);
    printf("waited for the other process: %s\n", ms_since(t0) >= 25 ? "yes" : "no");
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(semctl(id, 0, GETNCNT) == 0 && semctl(id, 0, GETVAL) == 0);
    CHECK(semctl(id, 0, GETPID) == getpid());

    /* Waiting for zero (GETZCNT). */
    CHECK(semctl(id, 2, SETVAL, (union semun){.val = 1}) == 0);
    pid = fork();
    if (pid == 0)
        _exit(op(id, 2, 0, 0) == 0 ? 0 : 1);
    CHECK(wait_count(id, 2, GETZCNT, 1));
    CHECK(op(id, 2, -1, 0) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* SEM_UNDO: a process's adjustments are undone when it exits. */
    CHECK(semctl(id, 1, SETVAL, (union semun){.val = 10}) == 0);
    pid = fork();
    if (pid == 0) {
        if (op(id, 1, 5, SEM_UNDO) != 0 || op(id, 1, -2, SEM_UNDO) != 0 || op(id, 1, 1, 0) != 0)
            _exit(1);
        _exit(semctl(id, 1, GETVAL) == 14 ? 0 : 2);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(semctl(id, 1, GETVAL) == 11);
    CHECK(semctl(id, 1, GETPID) == pid);
    /* SETVAL clears the adjustments of every process for that semaphore. */
    pid = fork();
    if (pid == 0) {
        if (op(id, 1, 3, SEM_UNDO) != 0)
            _exit(1);
        union semun z = {.val = 0};
        _exit(semctl(id, 1, SETVAL, z) == 0 ? 0 : 2);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(semctl(id, 1, GETVAL) == 0);
    /* An undo that would go below zero stops at zero. */
    CHECK(semctl(id, 1, SETVAL, (union semun){.val = 4}) == 0);
    pid = fork();
    if (pid == 0) {
        if (op(id, 1, 2, SEM_UNDO) != 0 || op(id, 1, -6, 0) != 0)
            _exit(1);
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(semctl(id, 1, GETVAL) == 0);

    /* semtimedop: EAGAIN once the timeout passes. */
    struct sembuf dec = {0, -1, 0};
    struct timespec to = {0, 40 * 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERRNO(semtimedop(id, &dec, 1, &to), EAGAIN);
    printf("timed out after >= 35ms: %s\n", ms_since(t0) >= 35 ? "yes" : "no");
    struct timespec badto = {0, 1000000000};
    EXPECT_ERRNO(semtimedop(id, &dec, 1, &badto), EINVAL);

    /* A signal handler interrupts it with EINTR, SA_RESTART or not. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    ualarm(30000, 0);
    EXPECT_ERRNO(op(id, 0, -1, 0), EINTR);

    /* Removing the set wakes its waiters with EIDRM. */
    pid = fork();
    if (pid == 0) {
        errno = 0;
        int r = op(id, 0, -1, 0);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    CHECK(wait_count(id, 0, GETNCNT, 1));
    CHECK(semctl(id, 0, IPC_RMID) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT_ERRNO(semctl(id, 0, GETVAL), EINVAL);
    EXPECT_ERRNO(op(id, 0, 1, 0), EINVAL);

    /* Keys and errors. */
    key_t key = 0x5b000000 | (getpid() & 0xffff);
    int k = semget(key, 2, IPC_CREAT | 0600);
    CHECK(k >= 0);
    CHECK(semget(key, 2, 0) == k && semget(key, 0, 0) == k);
    EXPECT_ERRNO(semget(key, 3, 0), EINVAL);
    EXPECT_ERRNO(semget(key, 1, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_ERRNO(semget(key + 1, 1, 0600), ENOENT);
    EXPECT_ERRNO(semget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERRNO(semget(IPC_PRIVATE, -1, 0600), EINVAL);
    EXPECT_ERRNO(semget(IPC_PRIVATE, 40000, 0600), EINVAL);
    EXPECT_ERRNO(op(k, 2, 1, 0), EFBIG);
    EXPECT_ERRNO(semop(k, &dec, 0), EINVAL);
    struct sembuf many[501];
    memset(many, 0, sizeof many);
    EXPECT_ERRNO(semop(k, many, 501), E2BIG);
    EXPECT_ERRNO(semop(k, (void *)8, 1), EFAULT);
    EXPECT_ERRNO(semctl(k, 0, SETVAL, (union semun){.val = 32768}), ERANGE);
    EXPECT_ERRNO(semctl(k, 0, SETVAL, (union semun){.val = -1}), ERANGE);
    EXPECT_ERRNO(semctl(k, 2, SETVAL, (union semun){.val = 1}), EINVAL);
    EXPECT_ERRNO(semctl(k, 5, GETVAL), EINVAL);
    EXPECT_ERRNO(semctl(k, 0, 99), EINVAL);
    CHECK(semctl(k, 0, SETVAL, (union semun){.val = 32767}) == 0);
    EXPECT_ERRNO(op(k, 0, 1, 0), ERANGE);
    unsigned short big[2] = {1, 40000};
    EXPECT_ERRNO(semctl(k, 0, SETALL, (union semun){.array = big}), ERANGE);
    CHECK(semctl(k, 0, GETVAL) == 32767);
    ds.sem_perm.mode = 0640;
    CHECK(semctl(k, 0, IPC_SET, (union semun){.buf = &ds}) == 0);
    CHECK(semctl(k, 0, IPC_STAT, (union semun){.buf = &ds}) == 0 && (ds.sem_perm.mode & 0777) == 0640);
    CHECK(ds.sem_perm.__key == key);
    CHECK(semctl(k, 0, IPC_RMID) == 0);
    EXPECT_ERRNO(semget(key, 0, 0), ENOENT);
    return finish();
}
