/* Job-control stop signals sent with kill (no terminal involved): SIGTSTP,
 * SIGTTIN and SIGTTOU stop a child that leads its own process group in our
 * session (WSTOPSIG names the signal), SIGCONT resumes it; a SIGTSTP handler
 * runs instead of stopping, an ignored SIGTSTP does nothing; in an orphaned
 * process group (a child that made its own session) SIGTSTP/SIGTTIN/SIGTTOU
 * are discarded while SIGSTOP still stops; and when a process group with a
 * stopped member becomes orphaned (its parent, leader of another group of the
 * session, exits) the group gets SIGHUP and SIGCONT, so the stopped member
 * dies of SIGHUP. The program is a subreaper so that member comes back to it. */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int rep[2];
static void on_tstp(int s) {
    (void)s;
    char c = 'h';
    if (write(rep[1], &c, 1) != 1)
        _exit(5);
}

static void show(const char *what, int st) {
    if (WIFSTOPPED(st))
        printf("%s: WIFSTOPPED sig=SIG%s\n", what, sigabbrev_np(WSTOPSIG(st)));
    else if (WIFSIGNALED(st))
        printf("%s: WIFSIGNALED sig=SIG%s\n", what, sigabbrev_np(WTERMSIG(st)));
    else if (WIFCONTINUED(st))
        printf("%s: WIFCONTINUED\n", what);
    else
        printf("%s: WIFEXITED status=%d\n", what, WEXITSTATUS(st));
}

/* mode 0: own group; 1: handler for SIGTSTP; 2: SIGTSTP ignored; 3: own session */
static pid_t spawn(int mode) {
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (mode == 3)
            setsid();
        else
            setpgid(0, 0);
        if (mode == 1)
            signal(SIGTSTP, on_tstp);
        if (mode == 2)
            signal(SIGTSTP, SIG_IGN);
        close(ready[0]);
        close(ready[1]);
        for (;;)
            pause();
    }
    if (mode != 3)
        setpgid(c, c);
    close(ready[1]);
    char b;
    if (read(ready[0], &b, 1) != 0)
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
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    CHECK(pipe(rep) == 0);
    int st;
    int sigs[] = {SIGTSTP, SIGTTIN, SIGTTOU};
    pid_t c = spawn(0);
    for (int i = 0; i < 3; i++) {
        CHECK(kill(c, sigs[i]) == 0);
        CHECK(waitpid(c, &st, WUNTRACED) == c);
        char what[32];
        snprintf(what, sizeof what, "kill SIG%s", sigabbrev_np(sigs[i]));
        show(what, st);
        CHECK(kill(c, SIGCONT) == 0);
        CHECK(waitpid(c, &st, WCONTINUED) == c);
        show("kill SIGCONT", st);
    }
    kill(c, SIGKILL);
    waitpid(c, &st, 0);

    c = spawn(1);
    CHECK(kill(c, SIGTSTP) == 0);
    char h = 0;
    CHECK(read(rep[0], &h, 1) == 1);
    printf("SIGTSTP with a handler: handler ran=%s, stopped=%s\n", h == 'h' ? "yes" : "no",
           waitpid(c, &st, WUNTRACED | WNOHANG) == 0 ? "no" : "yes");
    kill(c, SIGKILL);
    waitpid(c, &st, 0);

    c = spawn(2);
    CHECK(kill(c, SIGTSTP) == 0);
    CHECK(kill(c, SIGTERM) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    show("ignored SIGTSTP, then SIGTERM", st);

    /* Orphaned process group: stop signals from the terminal set are discarded. */
    c = spawn(3);
    for (int i = 0; i < 3; i++)
        CHECK(kill(c, sigs[i]) == 0);
    msleep(20);
    printf("own session (orphaned group): TSTP/TTIN/TTOU ignored: %s\n",
           waitpid(c, &st, WUNTRACED | WNOHANG) == 0 ? "yes" : "no");
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    show("own session, SIGSTOP", st);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);

    /* A group becoming orphaned while one of its members is stopped. */
    int info[2];
    CHECK(pipe(info) == 0);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        setsid(); /* a: session and group leader */
        pid_t b = fork();
        if (b == 0) {
            setpgid(0, 0); /* b: its own group in a's session, parent in another group */
            for (;;)
                pause();
        }
        setpgid(b, b);
        if (write(info[1], &b, sizeof b) != sizeof b)
            _exit(1);
        kill(b, SIGSTOP);
        int s;
        waitpid(b, &s, WUNTRACED); /* b is stopped */
        _exit(WIFSTOPPED(s) ? 0 : 2);
    }
    pid_t b = 0;
    CHECK(read(info[0], &b, sizeof b) == sizeof b);
    CHECK(waitpid(a, &st, 0) == a);
    printf("middle process saw its child stopped, then exited: status %d\n", WEXITSTATUS(st));
    CHECK(waitpid(b, &st, 0) == b);
    show("stopped member of the newly orphaned group", st);
    return finish();
}
