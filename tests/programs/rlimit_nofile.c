/* RLIMIT_NOFILE: with every descriptor above 2 closed and the soft limit at 10,
 * exactly 7 more can be opened and the next open, dup, pipe, socket and
 * eventfd fail with EMFILE; dup2/dup3 to a number >= the limit are EBADF and
 * F_DUPFD with a base >= the limit EINVAL; descriptors already open above a
 * lowered limit stay usable; raising the soft limit again allows more; a child
 * inherits the limit; soft above hard is EINVAL; a hard limit above fs.nr_open
 * is EPERM (whether root may raise its hard limit depends on CAP_SYS_RESOURCE,
 * which differs between machines, so that is not tested). Done in a child. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
        syscall(SYS_close_range, 3, ~0U, 0);
        int high = dup2(1, 50); /* open before the limit goes down */
        CHECK(high == 50);
        struct rlimit rl, old;
        CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
        rl.rlim_cur = 10;
        rl.rlim_max = old.rlim_max;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
        int n = 0, fds[20];
        for (;;) {
            int fd = open("/dev/null", O_RDONLY);
            if (fd < 0) {
                printf("open failed after %d more descriptors with %s\n", n, errname(errno));
                break;
            }
            fds[n++] = fd;
            if (n == 20)
                break;
        }
        printf("highest new descriptor: %d\n", fds[n - 1]);
        EXPECT_ERRNO(dup(0), EMFILE);
        int p[2];
        EXPECT_ERRNO(pipe(p), EMFILE);
        EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, 0), EMFILE);
        EXPECT_ERRNO(eventfd(0, 0), EMFILE);
        EXPECT_ERRNO(fcntl(0, F_DUPFD, 0), EMFILE);
        EXPECT_ERRNO(dup2(0, 10), EBADF);
        EXPECT_ERRNO(dup3(0, 12, 0), EBADF);
        EXPECT_ERRNO(fcntl(0, F_DUPFD, 10), EINVAL);
        printf("descriptor 50 above the limit still works: %s\n", write(high, "", 0) == 0 ? "yes" : "no");
        CHECK(dup2(0, 9) == 9); /* replacing an open one below the limit is fine */
        close(fds[0]);
        int again = open("/dev/null", O_RDONLY);
        printf("after closing one, open gets the lowest free number: %s\n", again == fds[0] ? "yes" : "no");
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) {
            struct rlimit cr;
            getrlimit(RLIMIT_NOFILE, &cr);
            printf("  grandchild inherits soft limit %ld\n", (long)cr.rlim_cur);
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(g, &st, 0);
        rl.rlim_cur = 12;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
        int x = open("/dev/null", O_RDONLY), y = open("/dev/null", O_RDONLY);
        printf("after raising to 12: two more opens give %d and %d\n", x, y);
        EXPECT_ERRNO(open("/dev/null", O_RDONLY), EMFILE);
        rl.rlim_cur = rl.rlim_max + 1;
        if (rl.rlim_max != RLIM_INFINITY)
            EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &rl), EINVAL);
        rl.rlim_cur = 64;
        rl.rlim_max = 64;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
        struct rlimit back;
        CHECK(getrlimit(RLIMIT_NOFILE, &back) == 0 && back.rlim_cur == 64 && back.rlim_max == 64);
        rl.rlim_cur = rl.rlim_max = (rlim_t)1 << 40;
        EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
        fflush(stdout);
        _exit(failures);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child status %d\n", WEXITSTATUS(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return finish();
}
