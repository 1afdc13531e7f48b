/* kill's target forms: a pid; 0 (the caller's process group: a child that
 * leads its own group signals itself and its two members); -pgid (we signal
 * that group from outside); killpg; -1 with signal 0 only (succeeds while we
 * have children); and the errors: ESRCH for a pid or group that does not exist,
 * EINVAL for a bad signal number. Members report each delivery through a pipe;
 * the reports are printed sorted. A group killed by a default-fatal signal is
 * reaped (the members through PR_SET_CHILD_SUBREAPER). */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int rep[2], cmd[2];
static char my_id;

static void on_usr1(int sig) {
    (void)sig;
    if (write(rep[1], &my_id, 1) != 1)
        _exit(9);
}

static void member_loop(void) {
    char r = 'r';
    if (write(rep[1], &r, 1) != 1)
        _exit(8);
    for (;;)
        pause();
}

static void collect(const char *what, int n) {
    char got[8] = {0};
    for (int i = 0; i < n; i++)
        if (read(rep[0], &got[i], 1) != 1)
            got[i] = '?';
    /* sort */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (got[j] < got[i]) {
                char t = got[i];
                got[i] = got[j];
                got[j] = t;
            }
    printf("%s: deliveries %s\n", what, got);
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
    CHECK(pipe(rep) == 0 && pipe(cmd) == 0);
    fflush(stdout);
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        my_id = '1';
        if (fork() == 0)
            member_loop();
        my_id = '2';
        if (fork() == 0)
            member_loop();
        my_id = 'L';
        char r = 'r';
        if (write(rep[1], &r, 1) != 1)
            _exit(8);
        /* Wait for the order to signal our own group. */
        char c;
        while (read(cmd[0], &c, 1) == 1) {
            if (c == 'k')
                kill(0, SIGUSR1);
        }
        for (;;)
            pause();
    }
    setpgid(leader, leader);
    char r[3];
    for (int i = 0; i < 3; i++)
        CHECK(read(rep[0], &r[i], 1) == 1 && r[i] == 'r');
    printf("group of three is ready\n");
    CHECK(getpgid(leader) == leader);

    CHECK(write(cmd[1], "k", 1) == 1);
    collect("leader's kill(0, SIGUSR1)", 3);
    CHECK(kill(-leader, SIGUSR1) == 0);
    collect("our kill(-pgid, SIGUSR1)", 3);
    CHECK(killpg(leader, SIGUSR1) == 0);
    collect("our killpg(pgid, SIGUSR1)", 3);
    CHECK(kill(leader, SIGUSR1) == 0);
    collect("our kill(leader, SIGUSR1)", 1);

    CHECK(kill(leader, 0) == 0);
    CHECK(kill(-leader, 0) == 0);
    CHECK(kill(-1, 0) == 0);
    EXPECT_ERRNO(kill(leader, 65), EINVAL);
    EXPECT_ERRNO(kill(leader, -1), EINVAL);
    EXPECT_ERRNO(kill(-leader, 65), EINVAL);
    EXPECT_ERRNO(killpg(-leader, SIGUSR1), EINVAL);

    /* SIGUSR2 (default: terminate) to the whole group. */
    CHECK(kill(-leader, SIGUSR2) == 0);
    int st, killed = 0, total = 0;
    pid_t w;
    while ((w = waitpid(-1, &st, 0)) > 0) {
        total++;
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2)
            killed++;
    }
    printf("reaped %d, killed by SIGUSR2: %d\n", total, killed);
    EXPECT_ERRNO(kill(leader, 0), ESRCH);
    EXPECT_ERRNO(kill(-leader, 0), ESRCH);
    EXPECT_ERRNO(killpg(leader, 0), ESRCH);
    return finish();
}
