/* A process group exists while any member is unreaped, zombies included: children
 * may join a group whose only member has exited and was not waited for (find_vpid
 * still finds it). Pids are compared, never printed. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void wait_zombie(pid_t pid) {
    siginfo_t si;
    /* WNOWAIT: the child stays a zombie. */
    CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
}

int main(void) {
    /* A leads a group of its own and exits at once. */
    pid_t a = fork();
    if (a == 0) {
        setpgid(0, 0);
        _exit(0);
    }
    CHECK(a > 0);
    setpgid(a, a);
    wait_zombie(a);
    /* B joins A's group, whose only member is a zombie. */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t b = fork();
    if (b == 0) {
        int r = setpgid(0, a);
        char c = r == 0 ? 'y' : (errno == EPERM ? 'p' : 'e');
        if (write(pipefd[1], &c, 1) != 1)
            _exit(1);
        _exit(0);
    }
    CHECK(b > 0);
    char c = 0;
    CHECK(read(pipefd[0], &c, 1) == 1);
    printf("join a zombie's group: %s\n", c == 'y' ? "ok" : c == 'p' ? "EPERM" : "other error");
    int st;
    CHECK(waitpid(b, &st, 0) == b);
    /* Another child joins the zombie's group too, then starts a session of its
     * own (it leads no group, so it may). */
    pid_t d = fork();
    if (d == 0) {
        int r1 = setpgid(0, a);
        int e1 = errno;
        errno = 0;
        pid_t s = setsid();
        char out[2] = {r1 == 0 ? 'y' : (e1 == EPERM ? 'p' : 'e'), s > 0 ? 'y' : (errno == EPERM ? 'p' : 'e')};
        if (write(pipefd[1], out, 2) != 2)
            _exit(1);
        _exit(0);
    }
    CHECK(d > 0);
    char two[2];
    CHECK(read(pipefd[0], two, 2) == 2);
    printf("second join: %s; setsid in that group: %s\n", two[0] == 'y' ? "ok" : "failed",
           two[1] == 'y' ? "ok" : two[1] == 'p' ? "EPERM" : "other error");
    CHECK(waitpid(d, &st, 0) == d);
    CHECK(waitpid(a, &st, 0) == a);
    return finish();
}
