/* The requeue-PI pair with raw syscalls (modern glibc condition variables do
 * not use it): FUTEX_WAIT_REQUEUE_PI waiters on a condition word are moved by
 * FUTEX_CMP_REQUEUE_PI onto a PI futex and return owning it. With the PI word
 * free the first waiter takes it at once (the word gets its tid, with
 * FUTEX_WAITERS only when more are requeued) and is woken; with the word held
 * the waiters are queued on the PI futex and an unlock hands it over (tid |
 * FUTEX_WAITERS). Counts returned, the "one more" rule when nothing was
 * acquired, a word that names the waiter (EDEADLK) or no live thread (ESRCH),
 * one with only OWNER_DIED (taken, OWNER_DIED kept), a signal before the
 * requeue (the wait restarts) and after it (EAGAIN), time-outs before and
 * after the requeue, mixing with FUTEX_WAKE / CMP_REQUEUE / plain waiters
 * (EINVAL), and the argument checks. The waiters are child processes on shared
 * futexes (each seen asleep in /proc/PID/stat before the requeue), plus one
 * thread on private ones. */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

struct waiter {
    pid_t pid;
    int op;           /* 0: FUTEX_WAIT_REQUEUE_PI */
    long long rel_ns; /* > 0: a CLOCK_MONOTONIC deadline this far ahead */
    int unlock;       /* unlock the PI word once owned */
    long ret;
    int err;
    int word; /* the PI word as the call returned */
    int hits; /* SIGUSR1 handler runs */
};
struct shared {
    int cond, mtx, other;
    struct waiter w[4];
};
static struct shared *sh;
static struct waiter *self_w;
static pid_t me;

static long fx(int *u, int op, long val, long ts, int *u2, int v3) {
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
static void on_usr1(int s) {
    (void)s;
    __atomic_fetch_add(&self_w->hits, 1, __ATOMIC_SEQ_CST);
}

/* A child that waits on the condition word to be requeued onto the PI word. */
static void start(struct waiter *w, int unlock, long long rel_ns) {
    memset(w, 0, sizeof *w);
    w->unlock = unlock;
    w->rel_ns = rel_ns;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        self_w = w;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1; /* no SA_RESTART */
        sigaction(SIGUSR1, &sa, NULL);
        struct timespec dl, *ts = NULL;
        if (w->rel_ns > 0) {
            clock_gettime(CLOCK_MONOTONIC, &dl);
            long long v = dl.tv_sec * 1000000000LL + dl.tv_nsec + w->rel_ns;
            dl.tv_sec = v / 1000000000LL;
            dl.tv_nsec = v % 1000000000LL;
            ts = &dl;
        }
        errno = 0;
        w->ret = fx(&sh->cond, w->op ? w->op : FUTEX_WAIT_REQUEUE_PI, 0, (long)ts, &sh->mtx, 0);
        w->err = errno;
        w->word = sh->mtx;
        if (w->ret == 0 && w->unlock)
            fx(&sh->mtx, FUTEX_UNLOCK_PI, 0, 0, 0, 0);
        _exit(0);
    }
    w->pid = c;
    wait_sleeping(c);
}
static const char *who(int word, pid_t self) {
    pid_t t = word & FUTEX_TID_MASK;
    return t == 0 ? "nobody" : t == self ? "itself" : t == me ? "main" : "another";
}
static void report(const char *what, struct waiter *w) {
    int st;
    CHECK(waitpid(w->pid, &st, 0) == w->pid && st == 0);
    printf("%s: %ld %s, word then: owner %s%s%s\n", what, w->ret, w->ret ? errname(w->err) : "",
           who(w->word, w->pid), (w->word & FUTEX_WAITERS) ? " +WAITERS" : "",
           (w->word & FUTEX_OWNER_DIED) ? " +OWNER_DIED" : "");
}
static void show_word(const char *what, int word) {
    printf("%s: owner %s%s%s\n", what, who(word, 0), (word & FUTEX_WAITERS) ? " +WAITERS" : "",
           (word & FUTEX_OWNER_DIED) ? " +OWNER_DIED" : "");
}
static long crq(int nr_requeue, int *u2) {
    return fx(&sh->cond, FUTEX_CMP_REQUEUE_PI, 1, nr_requeue, u2, 0);
}

/* The private case: a thread of ours. */
static int pcond, pmtx;
static long pret;
static int pword;
static void *private_waiter(void *a) {
    (void)a;
    pret = fx(&pcond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, &pmtx, 0);
    pword = pmtx;
    if (pret == 0)
        fx(&pmtx, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, 0, 0);
    return NULL;
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
    me = (pid_t)syscall(SYS_gettid);
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    int *cond = &sh->cond, *mtx = &sh->mtx;

    /* Argument checks. */
    struct timespec past = {0, 0}, bad = {0, 1000000000L};
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 0, 0, cond, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 1, 0, cond, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 1, 0, mtx, 0), EAGAIN);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 0, 0, (int *)((char *)mtx + 1), 0), EINVAL);
    EXPECT_ERRNO(fx((int *)((char *)cond + 1), FUTEX_WAIT_REQUEUE_PI, 0, 0, mtx, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 0, (long)&past, mtx, 0), ETIMEDOUT);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI | FUTEX_CLOCK_REALTIME, 0, (long)&past, mtx, 0), ETIMEDOUT);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 0, (long)&bad, mtx, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_WAIT_REQUEUE_PI, 0, 8, mtx, 0), EFAULT);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 0, 1, mtx, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 2, 1, mtx, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 1, 1, cond, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 1, -1, mtx, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 1, 1, mtx, 5), EAGAIN);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 1, 1, (int *)((char *)mtx + 1), 0), EINVAL);
    EXPECT_ERRNO(fx(&pcond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, NULL, 0), EFAULT);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI | FUTEX_CLOCK_REALTIME, 1, 1, mtx, 0), ENOSYS);
    printf("CMP_REQUEUE_PI without waiters: %ld\n", crq(1, mtx));

    struct waiter *a = &sh->w[0], *b = &sh->w[1], *c = &sh->w[1];

    /* The PI word is free: the requeue takes it for the waiter. */
    start(a, 0, 0);
    printf("requeue onto a free PI word: %ld\n", crq(0, mtx));
    report("waiter", a);
    *mtx = 0;

    /* Held by main: the waiter is queued on the PI futex, the unlock hands over. */
    CHECK(fx(mtx, FUTEX_LOCK_PI, 0, 0, 0, 0) == 0);
    start(a, 1, 0);
    EXPECT_ERRNO(fx(cond, FUTEX_WAKE, 1, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE, 1, 1, &sh->other, 0), EINVAL);
    EXPECT_ERRNO(fx(cond, FUTEX_CMP_REQUEUE_PI, 1, 1, &sh->other, 0), EINVAL);
    printf("requeue onto a held PI word: %ld\n", crq(0, mtx));
    show_word("PI word after the requeue", *mtx);
    EXPECT_ERRNO(fx(mtx, FUTEX_WAKE, 1, 0, 0, 0), EINVAL);
    printf("unlock: %ld\n", fx(mtx, FUTEX_UNLOCK_PI, 0, 0, 0, 0));
    report("waiter", a);
    show_word("PI word after its unlock", *mtx);

    /* Two waiters, free word, one requeued besides the one woken. */
    start(a, 1, 0);
    start(b, 1, 0);
    printf("requeue two onto a free PI word: %ld\n", crq(1, mtx));
    report("first", a);
    report("second", b);
    show_word("PI word at the end", *mtx);

    /* Three waiters: nr_requeue 0 on a free word wakes one only; then on a held
     * word, nr_requeue 0 still moves one (none was woken); nr_requeue 5 the rest. */
    for (int i = 0; i < 3; i++)
        start(&sh->w[i], 1, 0);
    printf("free word, nr_requeue 0: %ld\n", crq(0, mtx));
    report("first of three", &sh->w[0]);
    CHECK(fx(mtx, FUTEX_LOCK_PI, 0, 0, 0, 0) == 0);
    printf("held word, nr_requeue 0: %ld\n", crq(0, mtx));
    printf("held word, nr_requeue 5: %ld\n", crq(5, mtx));
    printf("unlock: %ld\n", fx(mtx, FUTEX_UNLOCK_PI, 0, 0, 0, 0));
    report("second of three", &sh->w[1]);
    report("third of three", &sh->w[2]);
    show_word("PI word at the end", *mtx);

    /* Words the requeue cannot take for the waiter. */
    start(a, 0, 0);
    *mtx = a->pid;
    EXPECT_ERRNO(crq(1, mtx), EDEADLK);
    show_word("PI word naming the waiter, after EDEADLK", *mtx);
    *mtx = 0x3ffffff0;
    EXPECT_ERRNO(crq(0, mtx), ESRCH);
    printf("PI word naming no thread, after ESRCH: FUTEX_WAITERS %s\n",
           (*mtx & FUTEX_WAITERS) ? "set" : "clear");
    *mtx = FUTEX_OWNER_DIED;
    printf("requeue onto an OWNER_DIED word: %ld\n", crq(0, mtx));
    report("waiter", a);
    *mtx = 0;

    /* A signal before the requeue restarts the wait; one after it ends it. */
    start(a, 0, 0);
    kill(a->pid, SIGUSR1);
    while (__atomic_load_n(&a->hits, __ATOMIC_SEQ_CST) == 0)
        usleep(200);
    wait_sleeping(a->pid);
    printf("after a signal before the requeue: handler ran %d, waiting again\n", a->hits);
    CHECK(fx(mtx, FUTEX_LOCK_PI, 0, 0, 0, 0) == 0);
    printf("requeue: %ld\n", crq(1, mtx));
    kill(a->pid, SIGUSR1);
    report("signalled while requeued", a);
    show_word("PI word", *mtx);
    printf("unlock: %ld\n", fx(mtx, FUTEX_UNLOCK_PI, 0, 0, 0, 0));
    show_word("PI word after the unlock", *mtx);

    /* Time-outs: while requeued (the PI word keeps FUTEX_WAITERS), and before. */
    CHECK(fx(mtx, FUTEX_LOCK_PI, 0, 0, 0, 0) == 0);
    start(a, 0, 1000000000LL);
    printf("requeue: %ld\n", crq(1, mtx));
    report("timed out while requeued", a);
    show_word("PI word", *mtx);
    printf("unlock: %ld\n", fx(mtx, FUTEX_UNLOCK_PI, 0, 0, 0, 0));
    show_word("PI word after the unlock", *mtx);
    start(a, 0, 20000000LL);
    report("timed out before any requeue", a);

    /* A plain waiter on the condition word. */
    memset(c, 0, sizeof *c);
    c->op = FUTEX_WAIT;
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        c->ret = fx(cond, FUTEX_WAIT, 0, 0, 0, 0);
        _exit(0);
    }
    c->pid = p;
    wait_sleeping(p);
    EXPECT_ERRNO(crq(1, mtx), EINVAL);
    show_word("PI word untouched", *mtx);
    printf("FUTEX_WAKE: %ld\n", fx(cond, FUTEX_WAKE, 1, 0, 0, 0));
    int st;
    CHECK(waitpid(p, &st, 0) == p && st == 0);

    /* Private futexes, a thread waiting (seen queued when FUTEX_WAKE on the
     * condition word meets it: EINVAL instead of 0). */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, private_waiter, NULL) == 0);
    errno = 0;
    while (fx(&pcond, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) == 0)
        usleep(500);
    printf("FUTEX_WAKE meets the private waiter: %s\n", errname(errno));
    CHECK(fx(&pmtx, FUTEX_LOCK_PI_PRIVATE, 0, 0, 0, 0) == 0);
    printf("private requeue: %ld\n", fx(&pcond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, &pmtx, 0));
    printf("private unlock: %ld\n", fx(&pmtx, FUTEX_UNLOCK_PI_PRIVATE, 0, 0, 0, 0));
    pthread_join(t, NULL);
    printf("private waiter: %ld, owned the word: %s, FUTEX_WAITERS %s, word now %d\n", pret,
           (pword & FUTEX_TID_MASK) != 0 && (pword & FUTEX_TID_MASK) != me ? "yes" : "no",
           (pword & FUTEX_WAITERS) ? "set" : "clear", pmtx);
    return finish();
}
