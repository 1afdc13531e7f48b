/* How a multithreaded process ends, each case in a child: a non-main thread
 * calls exit() or exit_group() while the main thread is blocked; the main
 * thread returns from main while others run; threads leave with the raw
 * SYS_exit (thread only) and the process lives on until the last one; the
 * status when the leader used SYS_exit first and another thread last; a
 * default-fatal signal sent to one thread kills the whole group; glibc ends
 * the process with status 0 when the last thread calls pthread_exit. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static int pfd[2];

static void show(const char *what, int st) {
    if (WIFEXITED(st))
        printf("%s: WIFEXITED=1 status=%d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: WIFSIGNALED=1 sig=SIG%s\n", what, sigabbrev_np(WTERMSIG(st)));
    else
        printf("%s: other 0x%x\n", what, st);
}

static void block_forever(void) {
    char b;
    for (;;)
        if (read(pfd[0], &b, 1) <= 0)
            pause();
}

static void *do_exit(void *a) {
    exit((int)(long)a);
}
static void *do_exit_group(void *a) {
    syscall(SYS_exit_group, (int)(long)a);
    return NULL;
}
static void *blocker(void *a) {
    (void)a;
    block_forever();
    return NULL;
}
static char leader_state(void) {
    char path[64], buf[512] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}
static void *late_thread_exit(void *a) {
    /* Leave only once the leader is a zombie. */
    for (int i = 0; i < 2000 && leader_state() != 'Z'; i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    syscall(SYS_exit, (int)(long)a);
    return NULL;
}
static void *quick_thread_exit(void *a) {
    syscall(SYS_exit, (int)(long)a);
    return NULL;
}
static void *late_pthread_exit(void *a) {
    (void)a;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_exit(NULL);
}

static void run(const char *what, int which) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pthread_t t, t2;
        switch (which) {
        case 0:
            pthread_create(&t, NULL, do_exit, (void *)5L);
            pthread_join(t, NULL);
            _exit(100);
        case 1:
            pthread_create(&t, NULL, do_exit_group, (void *)6L);
            block_forever();
            break;
        case 2:
            pthread_create(&t, NULL, blocker, NULL);
            pthread_create(&t2, NULL, blocker, NULL);
            exit(7);
        case 3:
            /* The leader leaves first with 8, the other thread last with 9. */
            pthread_create(&t, NULL, late_thread_exit, (void *)9L);
            syscall(SYS_exit, 8);
            break;
        case 4: {
            /* A thread leaves with SYS_exit(10); the process goes on. */
            pthread_create(&t, NULL, quick_thread_exit, (void *)10L);
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            exit(11);
        }
        case 5:
            pthread_create(&t, NULL, blocker, NULL);
            pthread_create(&t2, NULL, blocker, NULL);
            pthread_kill(t2, SIGTERM);
            block_forever();
            break;
        case 6:
            pthread_create(&t, NULL, late_pthread_exit, NULL);
            pthread_exit(NULL);
        }
        _exit(99);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    show(what, st);
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
    run("thread calls exit(5), main in pthread_join", 0);
    run("thread calls exit_group(6), main in read", 1);
    run("main calls exit(7), two threads blocked", 2);
    run("leader SYS_exit(8), last thread SYS_exit(9)", 3);
    run("thread SYS_exit(10), then main exit(11)", 4);
    run("SIGTERM to one thread", 5);
    run("main pthread_exit, last thread pthread_exit", 6);
    return finish();
}
