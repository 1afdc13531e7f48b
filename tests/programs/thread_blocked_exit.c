/* Ending a process while some of its threads are blocked: a thread in read on
 * an empty pipe, in a futex wait, in nanosleep(100 s), in epoll_wait or in
 * sigwaitinfo, while another thread (or the main one) calls exit, _exit or
 * exit_group. Each case runs in a child; the parent prints the exit status and
 * that the child ended promptly (within 5 s, though it takes milliseconds). */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

static int pfd[2];
static int fword;
static int started;

static void mark_started(void) {
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
}
static void *in_read(void *a) {
    (void)a;
    mark_started();
    char b;
    ssize_t n = read(pfd[0], &b, 1);
    (void)n;
    return NULL;
}
static void *in_futex(void *a) {
    (void)a;
    mark_started();
    syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}
static void *in_sleep(void *a) {
    (void)a;
    mark_started();
    struct timespec ts = {100, 0};
    nanosleep(&ts, NULL);
    return NULL;
}
static void *in_epoll(void *a) {
    (void)a;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
    mark_started();
    epoll_wait(ep, &ev, 1, -1);
    return NULL;
}
static void *in_sigwait(void *a) {
    (void)a;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    mark_started();
    sigwaitinfo(&s, NULL);
    return NULL;
}
static void *exit_group_later(void *a) {
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 5)
        usleep(1000);
    usleep(5000);
    syscall(SYS_exit_group, (int)(long)a);
    return NULL;
}

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void start_all(void) {
    pthread_t t;
    pthread_create(&t, NULL, in_read, NULL);
    pthread_create(&t, NULL, in_futex, NULL);
    pthread_create(&t, NULL, in_sleep, NULL);
    pthread_create(&t, NULL, in_epoll, NULL);
    pthread_create(&t, NULL, in_sigwait, NULL);
}

static void run(const char *what, int how) {
    fflush(stdout);
    long long t0 = mono_ms();
    pid_t c = fork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
        start_all();
        if (how == 3) {
            pthread_t t, t2;
            pthread_create(&t, NULL, exit_group_later, (void *)6L);
            pthread_create(&t2, NULL, in_read, NULL);
            pthread_join(t2, NULL); /* main blocks too */
            _exit(99);
        }
        while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 5)
            usleep(1000);
        usleep(5000); /* let them reach their blocking calls */
        if (how == 0)
            exit(3);
        if (how == 1)
            _exit(4);
        return; /* how == 2: return from main's caller, i.e. exit(5) below */
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("%s: WIFEXITED=%d status=%d, ended within 5 s: %s\n", what, WIFEXITED(st), WEXITSTATUS(st),
           mono_ms() - t0 < 5000 ? "yes" : "no");
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
    CHECK(pipe(pfd) == 0);
    pid_t me = getpid();
    run("main calls exit(3)", 0);
    run("main calls _exit(4)", 1);
    run("main returns 5", 2);
    if (getpid() != me) /* the child of case 2 ends here */
        return 5;
    run("a thread calls exit_group(6), main blocked in pthread_join", 3);
    return finish();
}
