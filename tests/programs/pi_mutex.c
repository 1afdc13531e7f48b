/* Priority-inheritance locks: pthread mutexes with PTHREAD_PRIO_INHERIT under
 * contention (4 threads x 5000 increments), trylock EBUSY while another thread
 * holds one, error-checking PI mutexes (relock EDEADLK, unlock by a non-owner
 * EPERM); raw FUTEX_LOCK_PI / FUTEX_TRYLOCK_PI / FUTEX_UNLOCK_PI: the word
 * holds the owner's tid, a second thread blocking sets FUTEX_WAITERS and gets
 * the lock handed over by FUTEX_UNLOCK_PI, TRYLOCK_PI on a held word is EAGAIN
 * (EDEADLK for the owner), UNLOCK_PI by a non-owner is EPERM, and a LOCK_PI
 * with an absolute deadline times out with ETIMEDOUT. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t pm;
static long counter;
static int pi_word;
static volatile pid_t b_tid;
static volatile int b_state; /* 1 = about to lock, 2 = locked, 3 = done */

static long futex(int *u, int op, int val, const struct timespec *ts) {
    return syscall(SYS_futex, u, op, val, ts, NULL, 0);
}
static char task_state(pid_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}

static void *incrementer(void *a) {
    (void)a;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&pm);
        counter++;
        pthread_mutex_unlock(&pm);
    }
    return NULL;
}
static void *try_other(void *a) {
    (void)a;
    return (void *)(long)pthread_mutex_trylock(&pm);
}
static void *unlock_other(void *a) {
    return (void *)(long)pthread_mutex_unlock((pthread_mutex_t *)a);
}
static void *pi_locker(void *a) {
    (void)a;
    b_tid = (pid_t)syscall(SYS_gettid);
    long r = futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL);
    int tryerr = r == -1 ? errno : 0;
    b_state = 1;
    r = futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL);
    b_state = 2;
    int owner_ok = (pi_word & FUTEX_TID_MASK) == b_tid;
    futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
    b_state = 3;
    return (void *)(long)((r == 0 && owner_ok ? 1 : 0) | (tryerr == EAGAIN ? 2 : 0));
}
static int hold_pipe[2], release_pipe[2];
static void *holder(void *a) {
    (void)a;
    if (futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL) != 0)
        return (void *)1L;
    char b = 'h';
    if (write(hold_pipe[1], &b, 1) != 1 || read(release_pipe[0], &b, 1) != 1)
        return (void *)2L;
    return (void *)futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
}
static void *bad_unlock(void *a) {
    (void)a;
    long r = futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
    return (void *)(long)(r == -1 ? errno : 0);
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
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    CHECK(pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT) == 0);
    CHECK(pthread_mutex_init(&pm, &ma) == 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, incrementer, NULL) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("PI mutex counter: %ld\n", counter);
    CHECK(pthread_mutex_lock(&pm) == 0);
    void *r;
    pthread_create(&t[0], NULL, try_other, NULL);
    pthread_join(t[0], &r);
    printf("trylock from another thread while held: %s\n", errname((int)(long)r));
    CHECK(pthread_mutex_unlock(&pm) == 0);

    pthread_mutex_t em;
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    CHECK(pthread_mutex_init(&em, &ma) == 0);
    CHECK(pthread_mutex_lock(&em) == 0);
    printf("errorcheck PI relock: %s\n", errname(pthread_mutex_lock(&em)));
    pthread_create(&t[0], NULL, unlock_other, &em);
    pthread_join(t[0], &r);
    printf("errorcheck PI unlock by another thread: %s\n", errname((int)(long)r));
    CHECK(pthread_mutex_unlock(&em) == 0);

    /* Raw PI futex operations. */
    pid_t me = (pid_t)syscall(SYS_gettid);
    CHECK(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL) == 0);
    printf("after LOCK_PI the word holds our tid: %s\n", pi_word == me ? "yes" : "no");
    EXPECT_ERRNO(futex(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL), EDEADLK);
    EXPECT_ERRNO(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL), EDEADLK);
    pthread_create(&t[1], NULL, bad_unlock, NULL);
    pthread_join(t[1], &r);
    printf("UNLOCK_PI by a non-owner: %s\n", errname((int)(long)r));
    pthread_create(&t[0], NULL, pi_locker, NULL);
    while (b_state < 1)
        usleep(500);
    for (int k = 0; k < 5000 && task_state(b_tid) != 'S'; k++)
        usleep(500);
    printf("while another thread waits: FUTEX_WAITERS set=%s, owner still us=%s\n",
           (pi_word & FUTEX_WAITERS) ? "yes" : "no", (pi_word & FUTEX_TID_MASK) == me ? "yes" : "no");
    CHECK(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL) == 0);
    pthread_join(t[0], &r);
    printf("waiter got the lock as owner: %s; its TRYLOCK_PI had failed with EAGAIN: %s\n",
           ((long)r & 1) ? "yes" : "no", ((long)r & 2) ? "yes" : "no");
    printf("word after the last unlock: %d\n", pi_word);

    /* Timed LOCK_PI on a word held by another thread. */
    b_state = 0;
    pi_word = 0;
    CHECK(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL) == 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    /* Our own lock: EDEADLK comes before the timeout. */
    EXPECT_ERRNO(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, &dl), EDEADLK);
    CHECK(futex(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL) == 0);
    /* Held by another thread: ETIMEDOUT at the deadline. */
    CHECK(pipe(hold_pipe) == 0 && pipe(release_pipe) == 0);
    pthread_create(&t[0], NULL, holder, NULL);
    char b;
    CHECK(read(hold_pipe[0], &b, 1) == 1); /* it holds the lock now */
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    EXPECT_ERRNO(futex(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, &dl), ETIMEDOUT);
    CHECK(write(release_pipe[1], "u", 1) == 1);
    pthread_join(t[0], &r);
    printf("holder unlocked cleanly: %s, word now %d\n", (long)r == 0 ? "yes" : "no", pi_word);
    return finish();
}
