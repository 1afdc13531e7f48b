/* Thread-directed signals: pthread_kill and tgkill reach exactly the target
 * thread (its handler records gettid()); a process-directed kill goes to the
 * one thread that does not block the signal; a signal sent to a thread that
 * blocks it is pending for that thread only (sigpending there, not in main)
 * and is delivered there once it unblocks; new threads inherit the creator's
 * mask; a sigwait thread collects a process-directed signal; tgkill with a
 * wrong tgid or an exited tid is ESRCH, signal 0 probes, bad ids are EINVAL. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static volatile pid_t got_tid[65];
static volatile int got_count[65];
static pid_t tid_of[4];
static int cmd[4][2];
static volatile int pending_seen[4];
static int hup_acks;

static void handler(int sig) {
    got_tid[sig] = (pid_t)syscall(SYS_gettid);
    got_count[sig]++;
}

static void wait_for(int sig, int count) {
    for (int i = 0; i < 2000 && got_count[sig] < count; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *worker(void *a) {
    long i = (long)a;
    tid_of[i] = (pid_t)syscall(SYS_gettid);
    char c;
    for (;;) {
        if (read(cmd[i][0], &c, 1) != 1 || c == 'q')
            return NULL;
        if (c == 'p') { /* report whether SIGUSR2 is pending for this thread */
            sigset_t p;
            sigpending(&p);
            pending_seen[i] = sigismember(&p, SIGUSR2) ? 1 : 2;
        }
        if (c == 'u') { /* unblock SIGUSR2 */
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR2);
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        }
        if (c == 'h') { /* block SIGHUP in this thread */
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGHUP);
            pthread_sigmask(SIG_BLOCK, &s, NULL);
            __atomic_fetch_add(&hup_acks, 1, __ATOMIC_SEQ_CST);
        }
        if (c == 'm') { /* report whether SIGUSR2 is blocked (inherited mask) */
            sigset_t cur;
            pthread_sigmask(SIG_BLOCK, NULL, &cur);
            pending_seen[i] = sigismember(&cur, SIGUSR2) ? 3 : 4;
        }
    }
}

static void *waiter(void *a) {
    (void)a;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN);
    int sig = 0;
    sigwait(&s, &sig);
    return (void *)(long)(sig == SIGRTMIN ? 1 : 0);
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    pthread_t t[4];
    sigset_t usr2, rt, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    CHECK(pthread_sigmask(SIG_BLOCK, &rt, &old) == 0); /* every thread blocks SIGRTMIN */
    for (long i = 0; i < 4; i++) {
        CHECK(pipe(cmd[i]) == 0);
        if (i == 3)
            pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* thread 3 starts with SIGUSR2 blocked */
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    }
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    for (int i = 0; i < 1000 && !(tid_of[0] && tid_of[1] && tid_of[2] && tid_of[3]); i++)
        usleep(1000);

    CHECK(pthread_kill(t[1], SIGUSR1) == 0);
    wait_for(SIGUSR1, 1);
    printf("pthread_kill(thread 1): handled by thread 1: %s\n", got_tid[SIGUSR1] == tid_of[1] ? "yes" : "no");
    CHECK(syscall(SYS_tgkill, getpid(), tid_of[2], SIGUSR1) == 0);
    wait_for(SIGUSR1, 2);
    printf("tgkill(thread 2): handled by thread 2: %s\n", got_tid[SIGUSR1] == tid_of[2] ? "yes" : "no");
    CHECK(syscall(SYS_tkill, tid_of[0], SIGUSR1) == 0);
    wait_for(SIGUSR1, 3);
    printf("tkill(thread 0): handled by thread 0: %s\n", got_tid[SIGUSR1] == tid_of[0] ? "yes" : "no");

    /* Thread 3 inherited SIGUSR2 blocked. */
    CHECK(write(cmd[3][1], "m", 1) == 1);
    for (int i = 0; i < 1000 && !pending_seen[3]; i++)
        usleep(1000);
    printf("thread 3 inherited a blocked SIGUSR2: %s\n", pending_seen[3] == 3 ? "yes" : "no");
    pending_seen[3] = 0;

    /* Pending for one thread only. */
    CHECK(pthread_kill(t[3], SIGUSR2) == 0);
    CHECK(write(cmd[3][1], "p", 1) == 1);
    for (int i = 0; i < 1000 && !pending_seen[3]; i++)
        usleep(1000);
    sigset_t p;
    sigpending(&p);
    printf("SIGUSR2 pending in thread 3: %s; in main: %s; handled yet: %s\n", pending_seen[3] == 1 ? "yes" : "no",
           sigismember(&p, SIGUSR2) ? "yes" : "no", got_count[SIGUSR2] ? "yes" : "no");
    CHECK(write(cmd[3][1], "u", 1) == 1);
    wait_for(SIGUSR2, 1);
    printf("after thread 3 unblocks: handled by thread 3: %s\n", got_tid[SIGUSR2] == tid_of[3] ? "yes" : "no");

    /* Process-directed: every thread but thread 2 blocks SIGHUP. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    CHECK(write(cmd[0][1], "h", 1) == 1 && write(cmd[1][1], "h", 1) == 1 && write(cmd[3][1], "h", 1) == 1);
    for (int i = 0; i < 1000 && __atomic_load_n(&hup_acks, __ATOMIC_SEQ_CST) < 3; i++)
        usleep(1000);
    CHECK(kill(getpid(), SIGHUP) == 0);
    wait_for(SIGHUP, 1);
    printf("process-directed SIGHUP handled by the only thread not blocking it (2): %s\n",
           got_tid[SIGHUP] == tid_of[2] ? "yes" : "no");
    pthread_sigmask(SIG_UNBLOCK, &hup, NULL);

    /* sigwait thread: SIGRTMIN is blocked everywhere; the waiter takes it. */
    pthread_t w;
    CHECK(pthread_create(&w, NULL, waiter, NULL) == 0);
    usleep(5000);
    CHECK(kill(getpid(), SIGRTMIN) == 0);
    void *r;
    pthread_join(w, &r);
    printf("sigwait thread collected the process-directed SIGRTMIN: %s\n", (long)r == 1 ? "yes" : "no");

    CHECK(syscall(SYS_tgkill, getpid(), tid_of[1], 0) == 0);
    CHECK(syscall(SYS_tkill, tid_of[1], 0) == 0);
    EXPECT_ERRNO(syscall(SYS_tgkill, getpid() + 1000000, tid_of[1], SIGUSR1), ESRCH);
    EXPECT_ERRNO(syscall(SYS_tgkill, -1, tid_of[1], SIGUSR1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_tkill, -5, SIGUSR1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), tid_of[1], 99), EINVAL);
    for (int i = 0; i < 4; i++) {
        CHECK(write(cmd[i][1], "q", 1) == 1);
        pthread_join(t[i], NULL);
    }
    /* The tid of a joined thread may linger for a moment; then ESRCH. */
    int gone = 0;
    for (int i = 0; i < 1000 && !gone; i++) {
        if (syscall(SYS_tgkill, getpid(), tid_of[1], 0) == -1 && errno == ESRCH)
            gone = 1;
        else
            usleep(1000);
    }
    printf("tgkill of an exited thread: %s\n", gone ? "ESRCH" : "still there");
    printf("handler counts: SIGUSR1=%d SIGUSR2=%d SIGHUP=%d\n", got_count[SIGUSR1], got_count[SIGUSR2],
           got_count[SIGHUP]);
    return finish();
}
