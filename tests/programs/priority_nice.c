/* getpriority/setpriority and nice, in a child, only ever raising the nice
 * value (lowering it needs CAP_SYS_NICE, which differs between machines): the
 * raw getpriority syscall returns 20 - nice; setpriority to 5 reads back 5,
 * nice(3) returns the new value 8; a forked child inherits it; PRIO_PGRP sets
 * every member of a process group and reads back the lowest member value;
 * values above 19 clamp to 19; an unprivileged process (setuid 65534,
 * RLIMIT_NICE 0) cannot lower its value (EACCES); unknown "which" is EINVAL,
 * a pid that does not exist ESRCH. PRIO_USER is left out: natively it would
 * change every process of that uid. Assumes the harness runs at nice <= 5. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int prio(int which, int who) {
    errno = 0;
    int v = getpriority(which, (id_t)who);
    return errno ? -100 : v;
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
        CHECK(setpriority(PRIO_PROCESS, 0, 5) == 0);
        printf("after setpriority 5: %d (raw syscall %ld)\n", prio(PRIO_PROCESS, 0),
               syscall(SYS_getpriority, PRIO_PROCESS, 0));
        errno = 0;
        int n = nice(3);
        printf("nice(3) returned %d, now %d\n", n, prio(PRIO_PROCESS, 0));
        fflush(stdout);
        pid_t g = fork();
        if (g == 0)
            _exit(prio(PRIO_PROCESS, 0) == 8 ? 0 : 1);
        int st;
        waitpid(g, &st, 0);
        printf("forked child inherits 8: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");

        /* A process group of two. */
        int gate[2];
        CHECK(pipe(gate) == 0);
        pid_t m1 = fork();
        if (m1 == 0) {
            setpgid(0, 0);
            close(gate[1]);
            char b;
            _exit(read(gate[0], &b, 1) == 0 ? 0 : 1);
        }
        setpgid(m1, m1);
        pid_t m2 = fork();
        if (m2 == 0) {
            setpgid(0, m1);
            close(gate[1]);
            char b;
            _exit(read(gate[0], &b, 1) == 0 ? 0 : 1);
        }
        setpgid(m2, m1);
        CHECK(setpriority(PRIO_PGRP, m1, 9) == 0);
        printf("after setpriority(PRIO_PGRP, 9): members %d and %d\n", prio(PRIO_PROCESS, m1), prio(PRIO_PROCESS, m2));
        CHECK(setpriority(PRIO_PROCESS, m2, 12) == 0);
        CHECK(setpriority(PRIO_PROCESS, m1, 15) == 0);
        printf("PRIO_PGRP reads the lowest member value: %d\n", prio(PRIO_PGRP, m1));
        close(gate[1]);
        waitpid(m1, &st, 0);
        waitpid(m2, &st, 0);
        EXPECT_ERRNO(getpriority(PRIO_PGRP, (id_t)m1), ESRCH);

        CHECK(setpriority(PRIO_PROCESS, 0, 100) == 0);
        printf("setpriority 100 clamps to %d (raw syscall %ld)\n", prio(PRIO_PROCESS, 0),
               syscall(SYS_getpriority, PRIO_PROCESS, 0));

        /* An unprivileged process. */
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_NICE, &rl);
        CHECK(setgid(65534) == 0 && setuid(65534) == 0);
        EXPECT_ERRNO(setpriority(PRIO_PROCESS, 0, 10), EACCES);
        errno = 0;
        n = nice(-1);
        printf("unprivileged nice(-1): %d %s\n", n, errname(errno));
        fflush(stdout);
        _exit(failures);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT_ERRNO(getpriority(42, 0), EINVAL);
    EXPECT_ERRNO(setpriority(42, 0, 0), EINVAL);
    EXPECT_ERRNO(getpriority(PRIO_PROCESS, (id_t)c), ESRCH);
    EXPECT_ERRNO(setpriority(PRIO_PROCESS, (id_t)c, 1), ESRCH);
    return finish();
}
