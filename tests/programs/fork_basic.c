/* fork basics: the return values in parent and child, getpid/getppid relations,
 * separate memory after fork, a shared file offset through an inherited fd,
 * exit statuses collected with wait4 (several children reaped in any order,
 * reported sorted), WNOHANG on a running child, and ECHILD once all are reaped.
 * Children report through their exit status; nothing prints a pid. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int global_value = 10;

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
    pid_t me = getpid();
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        /* Exit code bits: 1 getppid ok, 2 pid differs, 4 sees the parent's value. */
        int code = 0;
        if (getppid() == me)
            code |= 1;
        if (getpid() != me)
            code |= 2;
        if (global_value == 10)
            code |= 4;
        global_value = 99;
        char b;
        if (read(p[0], &b, 1) != 1) /* wait until the parent looked at WNOHANG */
            code = 0;
        _exit(code);
    }
    CHECK(c > 0);
    printf("fork returned a positive pid in the parent: %s\n", c > 0 ? "yes" : "no");
    printf("child pid differs from parent: %s\n", c != me ? "yes" : "no");
    int st = -1;
    struct rusage ru;
    CHECK(wait4(c, &st, WNOHANG, &ru) == 0);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(wait4(c, &st, 0, &ru) == c);
    printf("child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    CHECK(global_value == 10);
    EXPECT_ERRNO(wait4(-1, &st, 0, NULL), ECHILD);
    EXPECT_ERRNO(wait4(c, &st, WNOHANG, NULL), ECHILD);
    close(p[0]);
    close(p[1]);

    /* Shared file offset: the child's writes move the parent's offset. */
    int fd = open("forkfile", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "parent-", 7) == 7);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int ok = write(fd, "child-", 6) == 6;
        _exit(ok ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 13);
    CHECK(write(fd, "end", 3) == 3);
    char buf[32] = {0};
    CHECK(pread(fd, buf, sizeof buf - 1, 0) == 16);
    printf("file: %s\n", buf);
    close(fd);

    /* Several children, exit codes 0..4; reaped with wait4(-1) in whatever order. */
    pid_t kids[5];
    fflush(stdout);
    for (int i = 0; i < 5; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(i * 10 + 1);
    }
    int seen[5] = {0};
    for (int i = 0; i < 5; i++) {
        pid_t r = wait4(-1, &st, 0, NULL);
        for (int j = 0; j < 5; j++)
            if (r == kids[j] && WIFEXITED(st) && WEXITSTATUS(st) == j * 10 + 1)
                seen[j]++;
    }
    for (int j = 0; j < 5; j++)
        printf("child %d reaped once with status %d: %s\n", j, j * 10 + 1, seen[j] == 1 ? "yes" : "no");
    EXPECT_ERRNO(wait(&st), ECHILD);

    /* A grandchild is not our child: waiting for it is ECHILD. */
    int gp[2], go[2];
    CHECK(pipe(gp) == 0 && pipe(go) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            char b;
            ssize_t n = read(go[0], &b, 1);
            _exit(n == 1 ? 0 : 1);
        }
        CHECK(write(gp[1], &g, sizeof g) == sizeof g);
        int s;
        waitpid(g, &s, 0);
        _exit(WIFEXITED(s) ? WEXITSTATUS(s) : 2);
    }
    pid_t g = 0;
    CHECK(read(gp[0], &g, sizeof g) == sizeof g);
    EXPECT_ERRNO(waitpid(g, &st, WNOHANG), ECHILD);
    CHECK(write(go[1], "y", 1) == 1);
    CHECK(waitpid(c, &st, 0) == c);
    printf("middle child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}
