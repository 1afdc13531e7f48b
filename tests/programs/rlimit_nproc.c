/* RLIMIT_NPROC: the root user is exempt (fork works with the limit at 0); after
 * setuid to an unprivileged uid with the limit at 0, fork and pthread_create
 * fail with EAGAIN (the limit counts the user's processes; only the limit 0
 * is used since other processes of that uid may exist natively), and the
 * unprivileged process cannot raise its hard limit (EPERM). In a child. */
#include "common.h"
#include <signal.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void *noop(void *a) {
    return a;
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
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {0, 0};
        CHECK(setrlimit(RLIMIT_NPROC, &rl) == 0);
        fflush(stdout);
        pid_t g = fork();
        if (g == 0)
            _exit(0);
        printf("root forks with RLIMIT_NPROC 0: %s\n", g > 0 ? "yes" : errname(errno));
        int st;
        if (g > 0)
            waitpid(g, &st, 0);
        CHECK(setgid(65534) == 0);
        CHECK(setuid(65534) == 0);
        printf("now uid %d\n", (int)getuid());
        fflush(stdout);
        EXPECT_ERRNO(fork(), EAGAIN);
        pthread_t t;
        int r = pthread_create(&t, NULL, noop, NULL);
        printf("pthread_create: %s\n", r == 0 ? "ok" : errname(r));
        if (r == 0)
            pthread_join(t, NULL);
        /* Lowering further is allowed, raising the hard limit is not. */
        struct rlimit up = {5, 5};
        EXPECT_ERRNO(setrlimit(RLIMIT_NPROC, &up), EPERM);
        fflush(stdout);
        _exit(failures);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child status %d\n", WEXITSTATUS(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return finish();
}
