/* Children that are reaped automatically: with SIGCHLD set to SIG_IGN, an
 * exited child never becomes a waitable zombie (its /proc entry goes away),
 * waitpid blocks until every child has exited and then fails with ECHILD
 * (WNOHANG returns 0 while one still runs), and no SIGCHLD is queued; with
 * SA_NOCLDWAIT and a handler, the handler still runs and waits are ECHILD;
 * children that were already zombies before SIG_IGN stay waitable; setting
 * SIG_DFL again restores normal zombies. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static volatile int hits;
static void handler(int s) {
    (void)s;
    hits++;
}

static int proc_exists(pid_t p) {
    char path[64];
    struct stat sb;
    snprintf(path, sizeof path, "/proc/%d", p);
    return stat(path, &sb) == 0;
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
    int st;
    /* A zombie made before SIG_IGN. */
    fflush(stdout);
    pid_t z = fork();
    if (z == 0)
        _exit(7);
    siginfo_t w;
    CHECK(waitid(P_PID, z, &w, WEXITED | WNOWAIT) == 0);

    signal(SIGCHLD, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        close(p[1]);
        char b;
        if (read(p[0], &b, 1) != 0)
            _exit(1);
        _exit(0);
    }
    pid_t q = fork();
    if (q == 0)
        _exit(3);
    close(p[0]);
    for (int i = 0; i < 2000 && proc_exists(q); i++)
        usleep(1000);
    printf("exited child's /proc entry disappears: %s\n", proc_exists(q) ? "no" : "yes");
    CHECK(waitpid(a, &st, WNOHANG) == 0);
    printf("earlier zombie still waitable: %s\n", waitpid(z, &st, 0) == z && WEXITSTATUS(st) == 7 ? "yes" : "no");
    /* Let the remaining child exit shortly after we start waiting. */
    fflush(stdout);
    pid_t closer = fork();
    if (closer == 0) {
        usleep(20000);
        close(p[1]);
        _exit(0);
    }
    close(p[1]);
    errno = 0;
    pid_t r = waitpid(-1, &st, 0);
    int e = errno;
    printf("blocking wait: returned %d %s; the pipe child is gone: %s\n", (int)r, errname(e),
           proc_exists(a) ? "no" : "yes");
    sigset_t pend;
    sigpending(&pend);
    printf("SIGCHLD pending: %s\n", sigismember(&pend, SIGCHLD) ? "yes" : "no");

    /* SA_NOCLDWAIT with a handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_NOCLDWAIT;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(4);
    errno = 0;
    r = waitpid(c, &st, 0);
    e = errno;
    for (int i = 0; i < 2000 && !hits; i++)
        usleep(1000);
    printf("SA_NOCLDWAIT: wait returned %d %s, handler ran: %s\n", (int)r, errname(e), hits ? "yes" : "no");

    /* Back to SIG_DFL: zombies again. */
    signal(SIGCHLD, SIG_DFL);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(5);
    CHECK(waitpid(c, &st, 0) == c);
    printf("SIG_DFL again: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}
