/* execve closes close-on-exec descriptors and keeps the others: O_CLOEXEC,
 * FD_CLOEXEC set by fcntl, F_DUPFD_CLOEXEC, dup3(O_CLOEXEC), pipe2, eventfd,
 * epoll_create1 and socketpair with their CLOEXEC flags, close_range with
 * CLOSE_RANGE_CLOEXEC; dup/dup2 clear the flag; kept descriptors keep their
 * offset and status flags (O_APPEND, O_NONBLOCK) and FD_CLOEXEC is 0 on them. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        for (int i = 2; i + 1 < argc; i += 2) {
            int fd = atoi(argv[i]);
            int fl = fcntl(fd, F_GETFD);
            printf("  %-22s fd %s\n", argv[i + 1], fl < 0 ? "closed" : fl == 0 ? "open, FD_CLOEXEC clear" : "open, FD_CLOEXEC set");
        }
        int b = atoi(argv[2 + 2 * 1]); /* the plain file is the second entry */
        printf("  plain file offset after exec: %ld\n", (long)lseek(b, 0, SEEK_CUR));
        int fl = fcntl(b, F_GETFL);
        printf("  plain file O_APPEND=%d O_NONBLOCK=%d\n", !!(fl & O_APPEND), !!(fl & O_NONBLOCK));
        char buf[8] = {0};
        printf("  plain file readable: %s\n", pread(b, buf, 4, 0) == 4 && memcmp(buf, "0123", 4) == 0 ? "yes" : "no");
        fflush(stdout);
        return 0;
    }
    default_signals();
    int fds[16];
    const char *names[16];
    int n = 0;
#define ADD(fd, name) (fds[n] = (fd), names[n] = (name), n++)
    int plain = open("data", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
    CHECK(plain >= 0 && write(plain, "0123456789", 10) == 10);
    CHECK(lseek(plain, 5, SEEK_SET) == 5);
    CHECK(fcntl(plain, F_SETFL, O_APPEND | O_NONBLOCK) == 0);
    ADD(open("data", O_RDONLY | O_CLOEXEC), "O_CLOEXEC");
    ADD(plain, "plain");
    int x = open("data", O_RDONLY);
    CHECK(fcntl(x, F_SETFD, FD_CLOEXEC) == 0);
    ADD(x, "fcntl FD_CLOEXEC");
    ADD(fcntl(plain, F_DUPFD_CLOEXEC, 30), "F_DUPFD_CLOEXEC");
    ADD(dup3(plain, 40, O_CLOEXEC), "dup3 O_CLOEXEC");
    ADD(dup(fds[0]), "dup of O_CLOEXEC");
    ADD(dup2(fds[0], 41), "dup2 of O_CLOEXEC");
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    ADD(p[0], "pipe2 O_CLOEXEC");
    ADD(eventfd(0, EFD_CLOEXEC), "eventfd EFD_CLOEXEC");
    ADD(epoll_create1(EPOLL_CLOEXEC), "epoll EPOLL_CLOEXEC");
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    ADD(sv[0], "socketpair CLOEXEC");
    int r1 = dup2(plain, 50), r2 = dup2(plain, 51);
    CHECK(syscall(SYS_close_range, 50, 51, CLOSE_RANGE_CLOEXEC) == 0);
    ADD(r1, "close_range CLOEXEC");
    ADD(r2, "close_range CLOEXEC 2");
    ADD(eventfd(0, 0), "eventfd plain");
    for (int i = 0; i < n; i++)
        CHECK(fds[i] >= 0);

    char *args[40];
    char nums[16][12];
    int a = 0;
    args[a++] = argv[0];
    args[a++] = "check";
    for (int i = 0; i < n; i++) {
        snprintf(nums[i], sizeof nums[i], "%d", fds[i]);
        args[a++] = nums[i];
        args[a++] = (char *)names[i];
    }
    args[a] = NULL;
    printf("before exec: all %d descriptors open\n", n);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The exec in the child changed nothing here. */
    CHECK(fcntl(fds[0], F_GETFD) == FD_CLOEXEC);
    return finish();
}
