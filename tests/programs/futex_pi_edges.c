/* PI futex corner cases as Linux has them: LOCK_PI on a free word, on one with
 * only OWNER_DIED (kept) or only FUTEX_WAITERS; the word naming no live thread
 * (ESRCH, FUTEX_WAITERS left set), a thread of another process through a
 * private futex (EPERM; the shared form is fine), the caller (EDEADLK); timeouts
 * (LOCK_PI on CLOCK_REALTIME, LOCK_PI2 on CLOCK_MONOTONIC, FUTEX_CLOCK_REALTIME
 * refused where Linux refuses it), bad words and timespecs; PI and non-PI
 * waiters mixed (EINVAL both ways, FUTEX_WAIT still allowed); deadlocks through
 * a chain of owners (EDEADLK); an owner that exits (no robust list: the waiter
 * gets the lock with OWNER_DIED; a robust PI mutex: EOWNERDEAD; a process killed
 * holding a shared PI futex; a process that execs holding robust mutexes, PI
 * and not: exec releases them); a signal does not end LOCK_PI; waiters get the
 * lock in arrival order. */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static pid_t me;
static int A, B, C, W;

static long fx(int *u, int op, long val, const void *ts, int *u2, int v3) {
    return syscall(SYS_futex, u, op, val, ts, u2, v3);
}
static char proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
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
static void wait_sleeping(pid_t pid) {
    while (proc_state(pid) != 'S')
        usleep(500);
}
/* A PI waiter has attached once the word has FUTEX_WAITERS. */
static void wait_waiters(int *w) {
    while (!(__atomic_load_n(w, __ATOMIC_SEQ_CST) & FUTEX_WAITERS))
        usleep(500);
}
static const char *flags(int w) {
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%s", (w & FUTEX_WAITERS) ? " +WAITERS" : "",
             (w & FUTEX_OWNER_DIED) ? " +OWNER_DIED" : "");
    return buf;
}
static struct timespec at(clockid_t c, long long d) {
    struct timespec t;
    clock_gettime(c, &t);
    long long v = t.tv_sec * 1000000000LL + t.tv_nsec + d;
    t.tv_sec = v / 1000000000LL;
    t.tv_nsec = v % 1000000000LL;
    return t;
}

/* A thread that takes a word, says so, and waits to be told to go on. */
struct holder {
    int *word;
    int go[2], said[2];
    int exit_holding;
    pid_t tid;
};
static void *holder_main(void *a) {
    struct holder *h = a;
    h->tid = (pid_t)syscall(SYS_gettid);
    long r = fx(h->word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    char b = r == 0 ? 'y' : 'n';
    if (write(h->said[1], &b, 1) != 1 || read(h->go[0], &b, 1) != 1)
        return NULL;
    if (!h->exit_holding)
        fx(h->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}
static void hold(struct holder *h, pthread_t *t, int *word, int exit_holding) {
    memset(h, 0, sizeof *h);
    h->word = word;
    h->exit_holding = exit_holding;
    CHECK(pipe(h->go) == 0 && pipe(h->said) == 0);
    CHECK(pthread_create(t, NULL, holder_main, h) == 0);
    char b;
    CHECK(read(h->said[0], &b, 1) == 1 && b == 'y');
}
static void release(struct holder *h, pthread_t t) {
    CHECK(write(h->go[1], "g", 1) == 1);
    pthread_join(t, NULL);
    close(h->go[0]);
    close(h->go[1]);
    close(h->said[0]);
    close(h->said[1]);
}

/* A thread blocking in LOCK_PI on a word; it unlocks what it gets. */
struct locker {
    int *word;
    int op;
    long ret;
    int err;
    int got;
    pid_t tid;
};
static void *locker_main(void *a) {
    struct locker *l = a;
    l->tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    l->ret = fx(l->word, l->op ? l->op : FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    l->err = errno;
    l->got = *l->word;
    if (l->ret == 0)
        fx(l->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}
static void report(const char *what, struct locker *l) {
    printf("%s: %ld %s, word then: %s%s\n", what, l->ret, l->ret ? errname(l->err) : "",
           (l->got & FUTEX_TID_MASK) == l->tid ? "its tid" : "another tid", flags(l->got));
}

/* ABBA: this thread holds B and wants A. */
static void *b_then_a(void *a) {
    struct locker *l = a;
    l->tid = (pid_t)syscall(SYS_gettid);
    fx(&B, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    l->ret = fx(&A, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    fx(&A, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    fx(&B, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}
/* Chain: this thread holds C and wants B. */
static volatile int c_held;
static void *c_then_b(void *a) {
    (void)a;
    fx(&C, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    c_held = 1;
    fx(&B, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    fx(&B, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    fx(&C, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void *own_tid(void *a) {
    (void)a;
    return (void *)syscall(SYS_gettid);
}

static volatile int hits;
static void on_usr1(int s) {
    (void)s;
    hits++;
}

static pthread_mutex_t robust;
static int robust_pipe[2];
static void *robust_owner(void *a) {
    (void)a;
    pthread_mutex_lock(&robust);
    char b;
    if (read(robust_pipe[0], &b, 1) != 1)
        return NULL;
    return NULL; /* exits holding it */
}
static void *robust_waiter(void *a) {
    (void)a;
    int r = pthread_mutex_lock(&robust);
    if (r == EOWNERDEAD) {
        pthread_mutex_consistent(&robust);
        pthread_mutex_unlock(&robust);
    }
    return (void *)(long)r;
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

/* A robust mutex in shared memory whose owner process execs while we wait. */
static void owner_execs(int pi) {
    pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pi)
        pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    CHECK(pthread_mutex_init(m, &a) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pthread_mutex_lock(m);
        if (write(p[1], "l", 1) != 1)
            _exit(1);
        execl("/proc/self/exe", "futex_pi_edges", "exec-child", (char *)NULL);
        _exit(1);
    }
    char b;
    CHECK(read(p[0], &b, 1) == 1);
    /* The new program outlives the wait: only the exec can release the mutex. */
    struct timespec dl = at(CLOCK_REALTIME, 5000000000LL);
    int r = pthread_mutex_timedlock(m, &dl);
    printf("%s mutex whose owner exec'd: %s\n", pi ? "robust PI" : "robust", r ? errname(r) : "0");
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
    kill(c, SIGKILL);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st));
    close(p[0]);
    close(p[1]);
    munmap(m, 4096);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        sleep(20);
        return 0;
    }
    default_signals();
    me = (pid_t)syscall(SYS_gettid);
    struct holder h;
    pthread_t ht, t, u;
    struct locker l;

    /* The word's states. */
    W = 0;
    CHECK(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == me);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == 0);
    EXPECT_ERRNO(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
    W = FUTEX_OWNER_DIED;
    CHECK(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    printf("LOCK_PI on OWNER_DIED: word is our tid%s\n", (W & FUTEX_TID_MASK) == me ? flags(W) : " (no)");
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == 0);
    W = FUTEX_WAITERS;
    CHECK(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    printf("LOCK_PI on a lone FUTEX_WAITERS: word is our tid%s\n", (W & FUTEX_TID_MASK) == me ? flags(W) : " (no)");
    W = me | FUTEX_WAITERS | FUTEX_OWNER_DIED;
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == 0);
    CHECK(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == me);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0 && W == 0);

    /* Owners that are not live threads, or not ours to name. */
    void *res;
    CHECK(pthread_create(&t, NULL, own_tid, NULL) == 0);
    pthread_join(t, &res);
    pid_t gone = (pid_t)(long)res;
    W = gone;
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
    printf("after ESRCH the word keeps the tid%s\n", (W & FUTEX_TID_MASK) == gone ? flags(W) : " (no)");
    W = gone;
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
    W = gone | FUTEX_OWNER_DIED;
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
    W = 0x3ffffff0;
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    W = child;
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
    printf("after EPERM the word keeps the tid%s\n", (W & FUTEX_TID_MASK) == child ? flags(W) : " (no)");
    W = child;
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EAGAIN);
    EXPECT_ERRNO(fx(&W, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EPERM);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    W = child;
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), ESRCH);
    W = 0;

    /* Clocks, timeouts, bad arguments. */
    struct timespec past = {0, 0}, bad = {0, -1};
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS);
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS);
    EXPECT_ERRNO(fx(&W, FUTEX_UNLOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0), ENOSYS);
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, &bad, NULL, 0), EINVAL);
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, (void *)8, NULL, 0), EFAULT);
    CHECK(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, (void *)8, NULL, 0) == 0); /* no timeout read */
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    CHECK(fx(&W, FUTEX_LOCK_PI2_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &past, NULL, 0) == 0);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    CHECK(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, &past, NULL, 0) == 0);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    hold(&h, &ht, &W, 0);
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, &past, NULL, 0), ETIMEDOUT);
    struct timespec mono = at(CLOCK_MONOTONIC, 20000000);
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI2_PRIVATE, 0, &mono, NULL, 0), ETIMEDOUT);
    struct timespec real = at(CLOCK_REALTIME, 20000000);
    EXPECT_ERRNO(fx(&W, FUTEX_LOCK_PI2_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &real, NULL, 0), ETIMEDOUT);
    W &= ~FUTEX_WAITERS;
    EXPECT_ERRNO(fx(&W, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
    printf("a failed TRYLOCK_PI leaves the holder's word%s\n", flags(W));
    release(&h, ht);
    printf("word after the holder's unlock: %d\n", W);
    EXPECT_ERRNO(fx((int *)((char *)&W + 1), FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EINVAL);
    EXPECT_ERRNO(fx((int *)((char *)&W + 1), FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
    EXPECT_ERRNO(fx(NULL, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERRNO(fx(NULL, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERRNO(fx(NULL, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
    int *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    EXPECT_ERRNO(fx(ro, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERRNO(fx(ro, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), EFAULT);
    EXPECT_ERRNO(fx(ro, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);

    /* PI and non-PI waiters do not mix. */
    int *shw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shw != MAP_FAILED);
    fflush(stdout);
    child = fork();
    if (child == 0)
        _exit(fx(&shw[0], FUTEX_WAIT, 0, NULL, NULL, 0) == 0 ? 0 : 1);
    wait_sleeping(child);
    EXPECT_ERRNO(fx(&shw[0], FUTEX_LOCK_PI, 0, NULL, NULL, 0), EINVAL);
    printf("word after LOCK_PI met a FUTEX_WAIT waiter: %d\n", shw[0]);
    shw[0] = me;
    EXPECT_ERRNO(fx(&shw[0], FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), EINVAL);
    shw[0] = 0;
    printf("FUTEX_WAKE of the plain waiter: %ld\n", fx(&shw[0], FUTEX_WAKE, 1, NULL, NULL, 0));
    int st;
    CHECK(waitpid(child, &st, 0) == child && st == 0);

    hold(&h, &ht, &W, 0);
    memset(&l, 0, sizeof l);
    l.word = &W;
    CHECK(pthread_create(&t, NULL, locker_main, &l) == 0);
    wait_waiters(&W);
    EXPECT_ERRNO(fx(&W, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), EINVAL);
    EXPECT_ERRNO(fx(&W, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &A, W), EINVAL);
    A = 0;
    EXPECT_ERRNO(fx(&W, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &A,
                    FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0)), EINVAL);
    printf("WAKE_OP applied its operation before failing: %d\n", A);
    A = 0;
    struct timespec rel = {0, 1000000};
    EXPECT_ERRNO(fx(&W, FUTEX_WAIT_PRIVATE, W, &rel, NULL, 0), ETIMEDOUT);
    EXPECT_ERRNO(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
    release(&h, ht);
    pthread_join(t, NULL);
    report("the waiter, after the holder's unlock", &l);
    printf("word at the end: %d\n", W);

    /* Deadlocks through owners. */
    CHECK(fx(&A, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    memset(&l, 0, sizeof l);
    CHECK(pthread_create(&t, NULL, b_then_a, &l) == 0);
    wait_waiters(&A);
    EXPECT_ERRNO(fx(&B, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
    EXPECT_ERRNO(fx(&B, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EAGAIN);
    __atomic_and_fetch(&B, ~FUTEX_WAITERS, __ATOMIC_SEQ_CST);
    CHECK(pthread_create(&u, NULL, c_then_b, NULL) == 0);
    wait_waiters(&B);
    EXPECT_ERRNO(fx(&C, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EDEADLK);
    CHECK(fx(&A, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    pthread_join(t, NULL);
    pthread_join(u, NULL);
    printf("the chain unwound: A got %ld, words %d %d %d\n", l.ret, A, B, C);

    /* An owner that exits holding the lock, without a robust list entry. */
    hold(&h, &ht, &W, 1);
    memset(&l, 0, sizeof l);
    l.word = &W;
    CHECK(pthread_create(&t, NULL, locker_main, &l) == 0);
    wait_waiters(&W);
    release(&h, ht);
    pthread_join(t, NULL);
    report("waiter when the owner thread exited", &l);
    printf("word at the end: %d\n", W);

    /* A robust PI mutex whose owner exits while a waiter blocks. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
    CHECK(pthread_mutex_init(&robust, &ma) == 0);
    CHECK(pipe(robust_pipe) == 0);
    CHECK(pthread_create(&t, NULL, robust_owner, NULL) == 0);
    while (__atomic_load_n((int *)&robust, __ATOMIC_SEQ_CST) == 0)
        usleep(500);
    CHECK(pthread_create(&u, NULL, robust_waiter, NULL) == 0);
    wait_waiters((int *)&robust);
    CHECK(write(robust_pipe[1], "x", 1) == 1);
    pthread_join(t, NULL);
    pthread_join(u, &res);
    printf("robust PI waiter got: %s\n", errname((int)(long)res));
    CHECK(pthread_mutex_lock(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);

    /* A process killed holding a shared PI futex. */
    shw[0] = 0;
    shw[1] = 0;
    fflush(stdout);
    pid_t owner = fork();
    if (owner == 0) {
        if (fx(&shw[0], FUTEX_LOCK_PI, 0, NULL, NULL, 0) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    while ((shw[0] & FUTEX_TID_MASK) != owner)
        usleep(500);
    pid_t waiter = fork();
    if (waiter == 0) {
        long r = fx(&shw[0], FUTEX_LOCK_PI, 0, NULL, NULL, 0);
        shw[1] = shw[0];
        _exit(r == 0 ? 0 : 2);
    }
    wait_waiters(&shw[0]);
    kill(owner, SIGKILL);
    CHECK(waitpid(owner, &st, 0) == owner && WIFSIGNALED(st));
    CHECK(waitpid(waiter, &st, 0) == waiter && st == 0);
    printf("waiter process took the dead process's lock: %s%s\n",
           (shw[1] & FUTEX_TID_MASK) == waiter ? "its tid" : "another tid", flags(shw[1]));

    owner_execs(0);
    owner_execs(1);

    /* A signal does not end LOCK_PI (its handler runs; the call goes on). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    W = 0;
    CHECK(fx(&W, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    memset(&l, 0, sizeof l);
    l.word = &W;
    CHECK(pthread_create(&t, NULL, locker_main, &l) == 0);
    wait_waiters(&W);
    pthread_kill(t, SIGUSR1);
    while (hits == 0)
        usleep(500);
    CHECK(fx(&W, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) == 0);
    pthread_join(t, NULL);
    printf("signalled LOCK_PI: handler ran %d, returned %ld, owner %s\n", hits, l.ret,
           (l.got & FUTEX_TID_MASK) == l.tid ? "itself" : "someone else");

    /* Waiters get the lock in arrival order. */
    shw[0] = 0;
    shw[1] = 0;
    CHECK(fx(&shw[0], FUTEX_LOCK_PI, 0, NULL, NULL, 0) == 0);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        fflush(stdout);
        kids[i] = fork();
        if (kids[i] == 0) {
            if (fx(&shw[0], FUTEX_LOCK_PI, 0, NULL, NULL, 0) != 0)
                _exit(9);
            int order = __atomic_add_fetch(&shw[1], 1, __ATOMIC_SEQ_CST);
            fx(&shw[0], FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
            _exit(order);
        }
        wait_sleeping(kids[i]);
    }
    CHECK(fx(&shw[0], FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == 0);
    printf("order of the waiters:");
    for (int i = 0; i < 3; i++) {
        waitpid(kids[i], &st, 0);
        printf(" %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    printf("; word at the end: %d\n", shw[0]);
    return finish();
}
