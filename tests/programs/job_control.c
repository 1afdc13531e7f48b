/* Shell-style job control without a terminal: two children put in a new
 * process group (setpgid on both sides of each fork) are stopped together with
 * kill(-pgid, SIGSTOP) and both reported by waitpid(-pgid, WUNTRACED), resumed
 * with SIGCONT (waitpid(-pgid, WCONTINUED)), stopped with killpg(SIGTSTP),
 * resumed, then terminated as a group with SIGTERM; a two-process pipeline job
 * ("producer | consumer") in its own group is stopped and continued midway and
 * still delivers every line. Pids are compared, never printed. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static pid_t c1, c2;

static void collect(const char *what, pid_t pgid, int options) {
    int seen1 = 0, seen2 = 0, kind_ok = 1, st, stopsig = 0;
    for (int i = 0; i < 2; i++) {
        pid_t r = waitpid(-pgid, &st, options);
        if (r == c1)
            seen1++;
        else if (r == c2)
            seen2++;
        if ((options & WUNTRACED) && !WIFSTOPPED(st))
            kind_ok = 0;
        if ((options & WCONTINUED) && !WIFCONTINUED(st))
            kind_ok = 0;
        if (options == 0 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM))
            kind_ok = 0;
        if (options & WUNTRACED) {
            if (!WIFSTOPPED(st) || (stopsig && WSTOPSIG(st) != stopsig))
                kind_ok = 0;
            stopsig = WIFSTOPPED(st) ? WSTOPSIG(st) : 0;
        }
    }
    if (options & WUNTRACED)
        printf("%s: both stopped by SIG%s\n", what, stopsig ? sigabbrev_np(stopsig) : "-");
    printf("%s: both members reported once: %s, as expected: %s\n", what, seen1 == 1 && seen2 == 1 ? "yes" : "no",
           kind_ok ? "yes" : "no");
}

static pid_t member(pid_t pgid) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, pgid);
        for (;;)
            pause();
    }
    setpgid(c, pgid ? pgid : c);
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
    c1 = member(0);
    c2 = member(c1);
    pid_t pg = c1;
    printf("both in the new group: %s; it is not ours: %s\n", getpgid(c1) == pg && getpgid(c2) == pg ? "yes" : "no",
           pg != getpgrp() ? "yes" : "no");
    int st;
    CHECK(kill(-pg, SIGSTOP) == 0);
    collect("SIGSTOP to the group", pg, WUNTRACED);
    CHECK(waitpid(-pg, &st, WUNTRACED | WNOHANG) == 0);
    CHECK(kill(-pg, SIGCONT) == 0);
    collect("SIGCONT to the group", pg, WCONTINUED);
    CHECK(killpg(pg, SIGTSTP) == 0);
    collect("killpg SIGTSTP", pg, WUNTRACED);
    CHECK(killpg(pg, SIGCONT) == 0);
    collect("killpg SIGCONT", pg, WCONTINUED);
    CHECK(kill(-pg, SIGTERM) == 0);
    collect("SIGTERM to the group", pg, 0);
    EXPECT_ERRNO(waitpid(-pg, &st, 0), ECHILD);

    /* A pipeline job. */
    int p[2], go[2];
    CHECK(pipe(p) == 0 && pipe(go) == 0);
    fflush(stdout);
    pid_t prod = fork();
    if (prod == 0) {
        setpgid(0, 0);
        close(p[0]);
        close(go[1]);
        char b;
        if (read(go[0], &b, 1) != 1) /* wait for the start signal */
            _exit(2);
        FILE *out = fdopen(p[1], "w");
        for (int i = 1; i <= 200; i++) {
            fprintf(out, "line %d\n", i);
            if (i == 100) {
                fflush(out);
                raise(SIGSTOP); /* the job stops itself halfway; the parent continues it */
            }
        }
        fclose(out);
        _exit(0);
    }
    setpgid(prod, prod);
    pid_t cons = fork();
    if (cons == 0) {
        setpgid(0, prod);
        close(p[1]);
        close(go[1]);
        FILE *in = fdopen(p[0], "r");
        char line[64];
        int n = 0, bad = 0;
        while (fgets(line, sizeof line, in)) {
            n++;
            int v;
            if (sscanf(line, "line %d", &v) != 1 || v != n)
                bad++;
        }
        _exit(n == 200 && bad == 0 ? 0 : 1);
    }
    setpgid(cons, prod);
    close(p[0]);
    close(p[1]);
    CHECK(write(go[1], "s", 1) == 1);
    pid_t r = waitpid(-prod, &st, WUNTRACED);
    printf("pipeline: the producer stopped itself: %s\n", r == prod && WIFSTOPPED(st) ? "yes" : "no");
    CHECK(kill(-prod, SIGCONT) == 0);
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        r = waitpid(-prod, &st, 0);
        if ((r == prod || r == cons) && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    printf("pipeline: both finished cleanly (the consumer saw 200 lines in order): %s\n", ok == 2 ? "yes" : "no");
    return finish();
}
