/* SysV semaphores: semget of a private set of 3, IPC_STAT (nsems, mode),
 * SETVAL/GETVAL, SETALL/GETALL; IPC_NOWAIT decrement of 0 is EAGAIN; a
 * multi-operation semop is all or nothing; a child blocked decrementing is
 * seen in GETNCNT and woken by our increment (then GETPID is the child); a
 * child waiting for zero is seen in GETZCNT and woken when the value reaches
 * 0; semtimedop times out with EAGAIN, not early; SEM_UNDO is undone when the
 * child exits; IPC_RMID wakes a blocked child with EIDRM; errors: ERANGE,
 * EFBIG, EINVAL. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}
static int op(int id, unsigned short num, short delta, short flags) {
    struct sembuf sb = {num, delta, flags};
    return semop(id, &sb, 1);
}
static int wait_count(int id, int cmd, int num, int want) {
    int v = -1;
    for (int i = 0; i < 5000 && (v = semctl(id, num, cmd)) != want; i++)
        usleep(500);
    return v;
}

/* Start from default signal dispositions and an empty mask, whatever the
 * environment left (e.g. SIGINT/SIGQUIT ignored in background jobs). */
static void default_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(void) {
    default_signals();
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0);
    printf("IPC_STAT: nsems=%lu mode=%03o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
    printf("initial values: %d %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
    arg.val = 2;
    CHECK(semctl(id, 0, SETVAL, arg) == 0);
    printf("after SETVAL 2: %d\n", semctl(id, 0, GETVAL));
    unsigned short all[3] = {1, 0, 3}, got[3] = {0};
    arg.array = all;
    CHECK(semctl(id, 0, SETALL, arg) == 0);
    arg.array = got;
    CHECK(semctl(id, 0, GETALL, arg) == 0);
    printf("after SETALL: %u %u %u\n", got[0], got[1], got[2]);

    EXPECT_ERRNO(op(id, 1, -1, IPC_NOWAIT), EAGAIN);
    struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -5, IPC_NOWAIT}};
    EXPECT_ERRNO(semop(id, two, 2), EAGAIN);
    printf("all-or-nothing: sem0 still %d\n", semctl(id, 0, GETVAL));

    /* A blocked decrement. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(op(id, 1, -1, 0) == 0 ? 0 : 1);
    printf("GETNCNT while the child waits: %d\n", wait_count(id, GETNCNT, 1, 1));
    CHECK(op(id, 1, 1, 0) == 0);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child's decrement completed: %s; GETPID is the child: %s; value %d\n",
           WEXITSTATUS(st) == 0 ? "yes" : "no", semctl(id, 1, GETPID) == c ? "yes" : "no", semctl(id, 1, GETVAL));

    /* Wait for zero. */
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(op(id, 2, 0, 0) == 0 ? 0 : 1);
    printf("GETZCNT while the child waits: %d\n", wait_count(id, GETZCNT, 2, 1));
    CHECK(op(id, 2, -3, 0) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    printf("wait-for-zero completed: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");

    struct sembuf dec = {1, -1, 0};
    struct timespec ts = {0, 20 * 1000 * 1000};
    long long t0 = mono_ms();
    EXPECT_ERRNO(semtimedop(id, &dec, 1, &ts), EAGAIN);
    printf("semtimedop waited >= 20 ms: %s\n", mono_ms() - t0 >= 20 ? "yes" : "no");

    /* SEM_UNDO. */
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(op(id, 0, -1, SEM_UNDO) == 0 && semctl(id, 0, GETVAL) == 0 ? 0 : 1);
    CHECK(waitpid(c, &st, 0) == c);
    printf("child took sem0 with SEM_UNDO: %s; after it exited sem0 is %d\n", WEXITSTATUS(st) == 0 ? "yes" : "no",
           semctl(id, 0, GETVAL));

    arg.val = 40000;
    EXPECT_ERRNO(semctl(id, 0, SETVAL, arg), ERANGE);
    EXPECT_ERRNO(op(id, 7, 1, 0), EFBIG);
    EXPECT_ERRNO(semop(id, two, 0), EINVAL);
    EXPECT_ERRNO(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);

    /* IPC_RMID wakes a waiter. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int r = op(id, 1, -1, 0);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    wait_count(id, GETNCNT, 1, 1);
    CHECK(semctl(id, 0, IPC_RMID) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    printf("blocked child got EIDRM: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    EXPECT_ERRNO(op(id, 0, 1, 0), EINVAL);
    EXPECT_ERRNO(semctl(id, 0, GETVAL), EINVAL);
    return finish();
}
