/* waitid: the siginfo it fills for CLD_EXITED, CLD_KILLED, CLD_STOPPED and
 * CLD_CONTINUED (si_signo SIGCHLD, si_pid, si_uid, si_status), WNOHANG with
 * nothing to report (returns 0 and leaves si_pid 0), WNOWAIT (the child stays
 * waitable), P_ALL, a WEXITED wait that ignores a stopped child, and errors:
 * EINVAL without any of WEXITED/WSTOPPED/WCONTINUED or with a bad idtype,
 * ECHILD with no children. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static const char *code_name(int c) {
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    default: return "?";
    }
}

static void show(const char *what, const siginfo_t *si, pid_t expect) {
    printf("%s: si_signo=SIG%s si_code=%s si_status=%d si_pid_ok=%s si_uid=%d\n", what,
           si->si_signo ? sigabbrev_np(si->si_signo) : "0", code_name(si->si_code), si->si_status,
           si->si_pid == expect ? "yes" : "no", (int)si->si_uid);
}

static char state_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] ? p[2] : '?';
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
    siginfo_t si;
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        while (read(p[0], &b, 1) == 1 && b != 'q')
            ;
        _exit(33);
    }
    /* Nothing to report yet. */
    memset(&si, 0x55, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOHANG) == 0);
    printf("WNOHANG with nothing ready: si_pid=%d si_signo=%d\n", (int)si.si_pid, si.si_signo);

    /* Stop and continue. */
    CHECK(kill(c, SIGSTOP) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WSTOPPED) == 0);
    show("stopped", &si, c);
    printf("state after stop: %c\n", state_of(c));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
    CHECK(kill(c, SIGCONT) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WCONTINUED) == 0);
    show("continued", &si, c);

    /* Exit, seen twice thanks to WNOWAIT. */
    CHECK(write(p[1], "q", 1) == 1);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0);
    show("exited (WNOWAIT)", &si, c);
    printf("still a zombie after WNOWAIT: %s\n", state_of(c) == 'Z' ? "yes" : "no");
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED) == 0);
    show("exited (P_ALL)", &si, c);
    EXPECT_ERRNO(waitid(P_PID, c, &si, WEXITED), ECHILD);

    /* Killed. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char b;
        ssize_t n = read(p[0], &b, 1);
        _exit((int)n);
    }
    CHECK(kill(c, SIGKILL) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED) == 0);
    show("killed", &si, c);

    /* si_status keeps all 8 bits of the exit code only: _exit(0x1ff). */
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(0x1ff);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, c, &si, WEXITED) == 0);
    show("_exit(0x1ff)", &si, c);

    EXPECT_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL);
    EXPECT_ERRNO(waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
    EXPECT_ERRNO(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
    EXPECT_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    EXPECT_ERRNO(waitid(P_PID, 0, &si, WEXITED), EINVAL);
    return finish();
}
