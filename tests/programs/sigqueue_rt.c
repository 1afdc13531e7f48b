/* sigqueue between processes: a child blocks SIGUSR1 and three real-time
 * signals; we queue five values on SIGRTMIN+2, one each on SIGRTMIN+1 and
 * SIGRTMIN+3, and SIGUSR1 twice. When the child unblocks them, its SA_SIGINFO
 * handler (whose sa_mask blocks everything, so handlers run one at a time)
 * sees SIGUSR1 once, then the real-time signals lowest number first, each
 * queued value in order, all with SI_QUEUE and our pid. rt_sigqueueinfo to
 * another process with a kernel si_code is EPERM, rt_tgsigqueueinfo reaches a
 * thread, and sigqueue to a pid that does not exist is ESRCH. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static int rep[2], go[2];
static char log_buf[256];
static int log_len;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    char name[16];
    if (sig == SIGUSR1)
        snprintf(name, sizeof name, "USR1");
    else
        snprintf(name, sizeof name, "RTMIN+%d", sig - SIGRTMIN);
    log_len += snprintf(log_buf + log_len, sizeof log_buf - log_len, " %s(%d%s%s)", name, si->si_value.sival_int,
                        si->si_code == SI_QUEUE ? ",Q" : si->si_code == SI_USER ? ",U" : ",?",
                        si->si_pid == getppid() ? ",p" : "");
}

static volatile pid_t thread_tid;
static volatile int thread_got;
static void thread_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (syscall(SYS_gettid) == thread_tid && si->si_code == SI_QUEUE)
        thread_got = si->si_value.sival_int;
}
static void *thread_fn(void *a) {
    (void)a;
    thread_tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < 5000 && !thread_got; i++)
        usleep(1000);
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
    CHECK(pipe(rep) == 0 && pipe(go) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO;
        sigfillset(&sa.sa_mask);
        sigset_t b;
        sigemptyset(&b);
        int sigs[] = {SIGUSR1, SIGRTMIN + 1, SIGRTMIN + 2, SIGRTMIN + 3};
        for (int i = 0; i < 4; i++) {
            sigaction(sigs[i], &sa, NULL);
            sigaddset(&b, sigs[i]);
        }
        sigprocmask(SIG_BLOCK, &b, NULL);
        char x = 'r';
        if (write(rep[1], &x, 1) != 1 || read(go[0], &x, 1) != 1)
            _exit(1);
        sigprocmask(SIG_UNBLOCK, &b, NULL);
        if (write(rep[1], log_buf, (size_t)log_len + 1) != log_len + 1)
            _exit(2);
        _exit(0);
    }
    char x;
    CHECK(read(rep[0], &x, 1) == 1);
    union sigval v;
    for (int i = 1; i <= 5; i++) {
        v.sival_int = i;
        CHECK(sigqueue(c, SIGRTMIN + 2, v) == 0);
    }
    v.sival_int = 300;
    CHECK(sigqueue(c, SIGRTMIN + 3, v) == 0);
    v.sival_int = 100;
    CHECK(sigqueue(c, SIGRTMIN + 1, v) == 0);
    v.sival_int = 7;
    CHECK(sigqueue(c, SIGUSR1, v) == 0);
    v.sival_int = 8;
    CHECK(sigqueue(c, SIGUSR1, v) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_KERNEL;
    si.si_signo = SIGRTMIN + 1;
    EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, c, SIGRTMIN + 1, &si), EPERM);
    si.si_code = SI_USER;
    EXPECT_ERRNO(syscall(SYS_rt_sigqueueinfo, c, SIGRTMIN + 1, &si), EPERM);
    CHECK(write(go[1], "g", 1) == 1);
    char buf[256] = {0};
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof buf - 1 && (r = read(rep[0], buf + n, sizeof buf - 1 - n)) > 0) {
        n += r;
        if (buf[n - 1] == 0)
            break;
    }
    printf("delivery order (sig(value,code,from us)):%s\n", buf);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* rt_tgsigqueueinfo to one of our threads. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = thread_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 4, &sa, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0);
    while (!thread_tid)
        usleep(1000);
    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN + 4;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 4444;
    CHECK(syscall(SYS_rt_tgsigqueueinfo, getpid(), thread_tid, SIGRTMIN + 4, &si) == 0);
    pthread_join(t, NULL);
    printf("rt_tgsigqueueinfo reached the thread with value %d\n", thread_got);

    EXPECT_ERRNO(sigqueue(c, SIGRTMIN, v), ESRCH);
    EXPECT_ERRNO(sigqueue(getpid(), 70, v), EINVAL);
    return finish();
}
