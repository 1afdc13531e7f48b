/* Orphans and PR_SET_CHILD_SUBREAPER. The program marks itself a subreaper (so
 * it behaves the same whether or not it is pid 1). A child forks a grandchild
 * and exits: the grandchild's getppid() changes to us, we can wait for it, and
 * it is reported with its own exit status. The subreaper attribute reads back,
 * is not inherited by fork, and a grandchild of an unmarked middle process
 * whose parent dies is reparented to the nearest subreaper ancestor (us). */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

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
    int v = -1;
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &v) == 0 && v == 0);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &v) == 0 && v == 1);
    pid_t me = getpid();
    int rep[2], go[2];
    CHECK(pipe(rep) == 0 && pipe(go) == 0);
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        int inherited = -1;
        prctl(PR_GET_CHILD_SUBREAPER, &inherited);
        pid_t mine = getpid();
        pid_t g = fork();
        if (g == 0) {
            close(go[1]);
            char b;
            /* Wait until the middle process is gone, then look at our parent. */
            if (read(go[0], &b, 1) != 0)
                _exit(90);
            pid_t before = getppid();
            int tries = 0;
            while (getppid() == mine && tries++ < 5000) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            char msg[4] = {before == mine || before == me ? 'y' : 'n', getppid() == me ? 'y' : 'n',
                           getppid() != mine ? 'y' : 'n', 0};
            if (write(rep[1], msg, 3) != 3)
                _exit(91);
            _exit(55);
        }
        if (write(rep[1], &g, sizeof g) != sizeof g)
            _exit(1);
        _exit(inherited == 0 ? 8 : 9);
    }
    close(go[0]);
    pid_t g = 0;
    CHECK(read(rep[0], &g, sizeof g) == sizeof g);
    int st;
    CHECK(waitpid(mid, &st, 0) == mid);
    printf("middle: status=%d (8 = subreaper flag not inherited)\n", WEXITSTATUS(st));
    close(go[1]); /* release the grandchild */
    char msg[4] = {0};
    CHECK(read(rep[0], msg, 3) == 3);
    printf("grandchild: ppid was middle or us=%c, ppid is now us=%c, ppid changed=%c\n", msg[0], msg[1], msg[2]);
    CHECK(waitpid(g, &st, 0) == g);
    printf("orphan reaped by us: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* Three levels: us -> A -> B -> C; B dies, C goes to us (A is no subreaper). */
    int r2[2], done[2];
    CHECK(pipe(r2) == 0 && pipe(done) == 0);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        close(done[1]);
        close(r2[0]);
        pid_t b = fork();
        if (b == 0) {
            pid_t bpid = getpid();
            pid_t c = fork();
            if (c == 0) {
                for (int i = 0; i < 5000 && getppid() == bpid; i++) {
                    struct timespec ts = {0, 1000000};
                    nanosleep(&ts, NULL);
                }
                char ok = getppid() == me ? 'y' : 'n';
                if (write(r2[1], &ok, 1) != 1)
                    _exit(1);
                _exit(66);
            }
            _exit(0);
        }
        int s;
        waitpid(b, &s, 0);
        /* Stay alive until C has reported, so that C cannot pick A by mistake. */
        char b2;
        close(r2[1]);
        ssize_t n = read(done[0], &b2, 1);
        (void)n;
        _exit(0);
    }
    char ok = 0;
    CHECK(read(r2[0], &ok, 1) == 1);
    printf("great-grandchild reparented to us, not to the live grandparent: %c\n", ok);
    close(r2[0]);
    close(r2[1]);
    close(done[1]);
    int reaped = 0, sum = 0;
    pid_t r;
    while ((r = waitpid(-1, &st, 0)) > 0) {
        reaped++;
        sum += WEXITSTATUS(st);
    }
    printf("reaped %d more, status sum %d\n", reaped, sum);
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0) == 0);
    CHECK(prctl(PR_GET_CHILD_SUBREAPER, &v) == 0 && v == 0);
    return finish();
}
