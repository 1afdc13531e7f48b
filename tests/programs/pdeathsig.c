/* PR_SET_PDEATHSIG: read back, EINVAL for a bad signal, cleared in a forked
 * child, kept across exec; when the parent dies the child gets the signal
 * (SIGKILL: killed; SIGUSR1: its handler sees SI_USER and the dead parent's
 * pid), and the "parent" is the creating thread: the signal comes when that
 * thread exits even though its process lives on. The program is a subreaper so
 * the orphans come back to it. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int rep[2], armed[2];
static volatile pid_t expected_parent;

static void usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    char m[3] = {'h', si->si_code == SI_USER ? 'u' : '?', si->si_pid == expected_parent ? 'p' : '?'};
    (void)sig;
    if (write(rep[1], m, 3) != 3)
        _exit(3);
    _exit(0);
}

/* The grandchild: arms its parent-death signal, reports, then blocks. */
static void grandchild(int sig, pid_t parent) {
    expected_parent = parent;
    if (sig == SIGUSR1) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = usr1;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, NULL);
    }
    prctl(PR_SET_PDEATHSIG, sig);
    char r = getppid() == parent ? 'r' : 'x';
    if (write(rep[1], &r, 1) != 1 || write(armed[1], &r, 1) != 1)
        _exit(2);
    for (;;)
        pause();
}

static int go_pipe[2];
static void *thread_parent(void *a) {
    pid_t me = getpid();
    pid_t g = fork();
    if (g == 0)
        grandchild((int)(long)a, me);
    /* This thread ends once the grandchild is armed; the process stays. */
    char b;
    if (read(armed[0], &b, 1) != 1)
        _exit(4);
    return NULL;
}

static void scenario(const char *what, int sig, int via_thread) {
    CHECK(pipe(rep) == 0 && pipe(go_pipe) == 0 && pipe(armed) == 0);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        close(go_pipe[1]);
        if (via_thread) {
            pthread_t t;
            pthread_create(&t, NULL, thread_parent, (void *)(long)sig);
            pthread_join(t, NULL);
        } else {
            pid_t me = getpid();
            pid_t g = fork();
            if (g == 0)
                grandchild(sig, me);
        }
        char b;
        if (read(go_pipe[0], &b, 1) != 0)
            _exit(1);
        _exit(0);
    }
    close(go_pipe[0]);
    char r = 0;
    CHECK(read(rep[0], &r, 1) == 1);
    printf("%s: grandchild armed with its parent alive: %s\n", what, r == 'r' ? "yes" : "no");
    if (via_thread) {
        char m[3] = {0};
        CHECK(read(rep[0], m, 3) == 3);
        printf("%s: signal arrived while the middle process still lives: %s\n", what,
               m[0] == 'h' ? "yes" : "no");
    }
    close(go_pipe[1]); /* the middle process exits */
    int st;
    CHECK(waitpid(a, &st, 0) == a);
    printf("%s: middle process status %d\n", what, WEXITSTATUS(st));
    if (sig == SIGUSR1 && !via_thread) {
        char m[3] = {0};
        CHECK(read(rep[0], m, 3) == 3);
        printf("%s: handler ran=%s si_code SI_USER=%s si_pid is the dead parent=%s\n", what, m[0] == 'h' ? "yes" : "no",
               m[1] == 'u' ? "yes" : "no", m[2] == 'p' ? "yes" : "no");
    }
    pid_t g = waitpid(-1, &st, 0);
    CHECK(g > 0);
    if (WIFSIGNALED(st))
        printf("%s: grandchild killed by SIG%s\n", what, sigabbrev_np(WTERMSIG(st)));
    else
        printf("%s: grandchild exited with %d\n", what, WEXITSTATUS(st));
    close(rep[0]);
    close(rep[1]);
    close(armed[0]);
    close(armed[1]);
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

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "get") == 0) {
        int v = -1;
        prctl(PR_GET_PDEATHSIG, &v);
        printf("  after exec: PR_GET_PDEATHSIG=%d\n", v);
        fflush(stdout);
        return 0;
    }
    default_signals();
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    int v = -1;
    CHECK(prctl(PR_GET_PDEATHSIG, &v) == 0 && v == 0);
    CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR2) == 0);
    CHECK(prctl(PR_GET_PDEATHSIG, &v) == 0 && v == SIGUSR2);
    EXPECT_ERRNO(prctl(PR_SET_PDEATHSIG, 99), EINVAL);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int cv = -1;
        prctl(PR_GET_PDEATHSIG, &cv);
        printf("  forked child: PR_GET_PDEATHSIG=%d\n", cv);
        prctl(PR_SET_PDEATHSIG, SIGUSR2);
        fflush(stdout);
        char *args[] = {argv[0], "get", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    CHECK(prctl(PR_SET_PDEATHSIG, 0) == 0);

    scenario("SIGKILL", SIGKILL, 0);
    scenario("SIGUSR1", SIGUSR1, 0);
    scenario("creating thread exits", SIGUSR1, 1);
    EXPECT_ERRNO(waitpid(-1, &st, 0), ECHILD);
    return finish();
}
