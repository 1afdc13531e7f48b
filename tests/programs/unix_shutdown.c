/* The end of AF_UNIX conversations: shutdown(2) of either half and what both
 * ends then see in poll (POLLIN, POLLOUT, POLLHUP, POLLRDHUP, POLLERR) and
 * epoll (EPOLLRDHUP); EOF; EPIPE with SIGPIPE on streams (not with
 * MSG_NOSIGNAL, never on datagram or seqpacket sockets; the default action
 * kills); a peer closed with unread data (ECONNRESET, before or after the
 * queued data depending on the type); a datagram peer gone (ECONNREFUSED,
 * then ENOTCONN); a blocked reader and a blocked writer woken by the close. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

static volatile int pipes;
static void on_pipe(int s) {
    (void)s;
    pipes++;
}

static const char *tname(int t) {
    return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "dgram" : "seqpacket";
}

static void show_poll(const char *what, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
    int n = poll(&p, 1, 0);
    printf("  %-28s poll %d:", what, n);
    if (p.revents & POLLIN)
        printf(" IN");
    if (p.revents & POLLOUT)
        printf(" OUT");
    if (p.revents & POLLRDHUP)
        printf(" RDHUP");
    if (p.revents & POLLHUP)
        printf(" HUP");
    if (p.revents & POLLERR)
        printf(" ERR");
    if (p.revents & POLLPRI)
        printf(" PRI");
    printf("\n");
}

static void result(const char *what, ssize_t r) {
    int e = errno;
    printf("  %-28s %zd %s (SIGPIPEs so far %d)\n", what, r, r < 0 ? errname(e) : "", pipes);
}

static void halves(int type) {
    printf("== %s: shutdown\n", tname(type));
    int sv[2];
    char b[16];
    CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv) == 0);
    show_poll("fresh", sv[0]);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    show_poll("SHUT_WR: self", sv[0]);
    show_poll("SHUT_WR: peer", sv[1]);
    result("send after SHUT_WR", send(sv[0], "x", 1, 0));
    result("peer reads", recv(sv[1], b, sizeof b, 0));
    result("peer sends", send(sv[1], "yy", 2, 0));
    CHECK(shutdown(sv[0], SHUT_RD) == 0);
    show_poll("and SHUT_RD: self", sv[0]);
    show_poll("and SHUT_RD: peer", sv[1]);
    result("self reads", recv(sv[0], b, sizeof b, 0));
    result("self reads again", recv(sv[0], b, sizeof b, 0));
    result("peer sends", send(sv[1], "yy", 2, 0));
    result("peer sends, MSG_NOSIGNAL", send(sv[1], "yy", 2, MSG_NOSIGNAL));
    result("peer writes", write(sv[1], "yy", 2));
    EXPECT_ERRNO(shutdown(sv[0], 3), EINVAL);
    EXPECT_ERRNO(shutdown(sv[0], -1), EINVAL);
    close(sv[0]);
    close(sv[1]);
}

static void closes(int type) {
    printf("== %s: close\n", tname(type));
    int sv[2], v;
    socklen_t l = sizeof v;
    char b[16];
    /* Closed with data it never read. */
    CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK(send(sv[1], "lost", 4, 0) == 4);
    CHECK(send(sv[0], "kept", 4, 0) == 4);
    close(sv[0]);
    show_poll("peer closed unread", sv[1]);
    result("read", recv(sv[1], b, sizeof b, 0));
    result("read", recv(sv[1], b, sizeof b, 0));
    result("read", recv(sv[1], b, sizeof b, 0));
    show_poll("after reading", sv[1]);
    result("send", send(sv[1], "x", 1, 0));
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &v, &l) == 0);
    printf("  SO_ERROR %d\n", v);
    close(sv[1]);
    /* Closed cleanly. */
    CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK(send(sv[0], "last", 4, 0) == 4);
    close(sv[0]);
    show_poll("peer closed", sv[1]);
    result("read", recv(sv[1], b, sizeof b, 0));
    result("read", recv(sv[1], b, sizeof b, 0));
    result("send", send(sv[1], "x", 1, 0));
    result("send", send(sv[1], "x", 1, 0));
    result("send, MSG_NOSIGNAL", send(sv[1], "x", 1, MSG_NOSIGNAL));
    struct sockaddr_storage ss;
    l = sizeof ss;
    errno = 0;
    printf("  getpeername: %s\n", getpeername(sv[1], (struct sockaddr *)&ss, &l) == 0 ? "ok" : errname(errno));
    close(sv[1]);
    /* The default action of SIGPIPE. */
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    close(sv[0]);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = write(sv[1], "x", 1);
        _exit(r < 0 ? (errno == EPIPE ? 32 : errno == ENOTCONN ? 33 : errno == ECONNREFUSED ? 34 : 35) : 36);
    }
    int st;
    CHECK(waitpid(kid, &st, 0) == kid);
    if (WIFSIGNALED(st))
        printf("  write with SIGPIPE at its default: killed by %s\n", WTERMSIG(st) == SIGPIPE ? "SIGPIPE" : "?");
    else
        printf("  write with SIGPIPE at its default: exit %d\n", WEXITSTATUS(st));
    close(sv[1]);
}

/* epoll sees the peer's shutdown as EPOLLIN|EPOLLRDHUP, edge-triggered once. */
static void epoll_rdhup(void) {
    printf("== epoll\n");
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP | EPOLLET, {.fd = sv[1]}};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev) == 0);
    struct epoll_event out[4];
    printf("  before: %d events\n", epoll_wait(ep, out, 4, 0));
    CHECK(write(sv[0], "a", 1) == 1);
    int n = epoll_wait(ep, out, 4, 0);
    printf("  after a write: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    printf("  again (edge): %d events\n", epoll_wait(ep, out, 4, 0));
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    n = epoll_wait(ep, out, 4, 0);
    printf("  after the peer's SHUT_WR: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    close(sv[0]);
    n = epoll_wait(ep, out, 4, 0);
    printf("  after the peer's close: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    close(ep);
    close(sv[1]);
}

static char state_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}

static void wait_sleeping(pid_t pid) {
    for (int i = 0; i < 5000 && state_of(pid) != 'S'; i++)
        usleep(1000);
}

/* A blocked reader and a blocked writer learn of the close. */
static void blocked(int type) {
    printf("== %s: blocked calls and the close\n", tname(type));
    int sv[2];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        close(sv[0]);
        char b[4];
        ssize_t r = read(sv[1], b, sizeof b);
        _exit(r == 0 ? 0 : r < 0 ? 100 + errno : 50);
    }
    wait_sleeping(kid);
    close(sv[0]);
    close(sv[1]);
    int st;
    CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st));
    printf("  blocked reader: %s\n", WEXITSTATUS(st) == 0 ? "EOF" : "no EOF");

    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    int small = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    while (write(sv[0], "fill", 4) > 0)
        ;
    fcntl(sv[0], F_SETFL, 0);
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        signal(SIGPIPE, SIG_IGN);
        close(sv[1]);
        ssize_t r = write(sv[0], "more", 4);
        _exit(r < 0 ? 100 + errno : 50);
    }
    close(sv[0]);
    wait_sleeping(kid);
    close(sv[1]);
    CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st));
    /* The peer went away with our data unread: the error comes first. */
    printf("  blocked writer: %s\n", WEXITSTATUS(st) >= 100 ? errname(WEXITSTATUS(st) - 100) : "no error");
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_pipe;
    sigaction(SIGPIPE, &sa, NULL);
    int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++) {
        halves(types[i]);
        closes(types[i]);
    }
    /* Unconnected sockets: shutdown is accepted. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(shutdown(s, SHUT_RDWR) == 0);
    show_poll("unconnected, shut down", s);
    close(s);
    epoll_rdhup();
    blocked(SOCK_STREAM);
    blocked(SOCK_SEQPACKET);
    return finish();
}
