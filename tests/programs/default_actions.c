/* Default signal actions seen from the parent, one child per signal, all
 * children with RLIMIT_CORE 0: "terminate" signals (SIGHUP, SIGINT, SIGPIPE,
 * SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGSTKFLT, SIGIO, SIGPROF, SIGVTALRM,
 * SIGPWR, SIGRTMIN, SIGRTMAX) sent by kill give WIFSIGNALED with that signal
 * and no core flag; "ignore" signals (SIGCHLD, SIGURG, SIGWINCH, SIGCONT) do
 * nothing (a SIGTERM sent afterwards is what ends the child); SIGPIPE from a
 * write to a pipe without readers and SIGALRM from the child's own timer kill
 * it too. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

static const char *name(int sig) {
    static char buf[16];
    if (sig >= SIGRTMIN) {
        snprintf(buf, sizeof buf, sig == SIGRTMAX ? "SIGRTMAX" : "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    snprintf(buf, sizeof buf, "SIG%s", sigabbrev_np(sig));
    return buf;
}

static void show(const char *what, int st) {
    if (WIFSIGNALED(st))
        printf("%-22s WIFSIGNALED=1 sig=%s core=%d\n", what, name(WTERMSIG(st)), WCOREDUMP(st) ? 1 : 0);
    else if (WIFEXITED(st))
        printf("%-22s WIFEXITED=1 status=%d\n", what, WEXITSTATUS(st));
    else
        printf("%-22s other 0x%x\n", what, st);
}

static pid_t spawn(int mode) {
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        close(ready[0]);
        if (mode == 1) { /* SIGPIPE */
            int p[2];
            if (pipe(p) != 0)
                _exit(2);
            close(p[0]);
            if (write(p[1], "x", 1) < 0)
                _exit(3);
            _exit(4);
        }
        if (mode == 2) { /* SIGALRM from our own timer */
            struct itimerval it = {{0, 0}, {0, 10000}};
            setitimer(ITIMER_REAL, &it, NULL);
        }
        close(ready[1]);
        for (;;)
            pause();
    }
    close(ready[1]);
    char b;
    if (read(ready[0], &b, 1) != 0) /* EOF: the child is about to pause */
        c = -1;
    close(ready[0]);
    return c;
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
    int term[] = {SIGHUP, SIGINT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGSTKFLT, SIGIO, SIGPROF,
                  SIGVTALRM, SIGPWR, SIGRTMIN, SIGRTMAX};
    int st;
    for (unsigned i = 0; i < sizeof term / sizeof term[0]; i++) {
        pid_t c = spawn(0);
        CHECK(c > 0 && kill(c, term[i]) == 0 && waitpid(c, &st, 0) == c);
        char what[32];
        snprintf(what, sizeof what, "kill %s:", name(term[i]));
        show(what, st);
    }
    int ign[] = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
    for (unsigned i = 0; i < sizeof ign / sizeof ign[0]; i++) {
        pid_t c = spawn(0);
        CHECK(c > 0 && kill(c, ign[i]) == 0 && kill(c, SIGTERM) == 0 && waitpid(c, &st, 0) == c);
        char what[40];
        snprintf(what, sizeof what, "kill %s, SIGTERM:", name(ign[i]));
        show(what, st);
    }
    pid_t c = spawn(1);
    CHECK(waitpid(c, &st, 0) == c);
    show("write to broken pipe:", st);
    c = spawn(2);
    CHECK(waitpid(c, &st, 0) == c);
    show("own ITIMER_REAL:", st);
    return finish();
}
