/* TCP error cases over the loopback: socket(2) argument errors, ECONNREFUSED
 * (blocking, and non-blocking through EINPROGRESS, poll and SO_ERROR),
 * EADDRINUSE and SO_REUSEADDR, a second bind (EINVAL) and listen (fine),
 * EADDRNOTAVAIL, ENOTCONN, EPIPE with and without SIGPIPE, shutdown and EOF,
 * a reset by a close with unread data, and poll events in each state. Run
 * under --network=host and none. */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

static volatile sig_atomic_t sigpipes;
static void on_pipe(int sig) {
    (void)sig;
    sigpipes++;
}

static struct sockaddr_in lo(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(int s) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &l) != 0)
        return -1;
    return ntohs(a.sin_port);
}

/* A port nothing listens on: one just bound and released. */
static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    int p = port_of(s);
    close(s);
    return p;
}

static short events(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI};
    poll(&p, 1, 0);
    return p.revents;
}

static void show(const char *what, short ev) {
    printf("%s:%s%s%s%s%s\n", what, ev & POLLIN ? " IN" : "", ev & POLLOUT ? " OUT" : "",
           ev & POLLERR ? " ERR" : "", ev & POLLHUP ? " HUP" : "", ev & POLLRDHUP ? " RDHUP" : "");
}

/* A connected pair over 127.0.0.1 (the listener is closed). */
static void pair(int *c, int *d) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 1);
    a = lo(port_of(s));
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&a, sizeof a) != 0)
        printf("FAIL connect: %s\n", errname(errno));
    *d = accept(s, NULL, NULL);
    close(s);
}

static void creation(void) {
    int sv[2];
    EXPECT_ERRNO(socket(99, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERRNO(socket(AF_INET, 99, 0), EINVAL);
    EXPECT_ERRNO(socket(AF_INET, SOCK_STREAM | 0x100000, 0), EINVAL);
    EXPECT_ERRNO(socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO(socket(AF_INET6, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    EXPECT_ERRNO(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    EXPECT_ERRNO(socket(AF_INET, SOCK_STREAM, 300), EINVAL);
    EXPECT_ERRNO(socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    EXPECT_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
    EXPECT_ERRNO(socketpair(AF_INET6, SOCK_DGRAM, 0, sv), EOPNOTSUPP);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    CHECK(s >= 0);
    CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
    close(s);
}

static void refused(void) {
    int port = free_port();
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(port);
    EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    show("refused socket", events(c));
    EXPECT_ERRNO(getpeername(c, (struct sockaddr *)&a, &(socklen_t){sizeof a}), ENOTCONN);
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = lo(port);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("non-blocking connect: %d %s\n", r, r ? errname(errno) : "");
    struct pollfd p = {.fd = c, .events = POLLOUT};
    CHECK(poll(&p, 1, 5000) == 1);
    show("after refusal", events(c));
    int err = 0;
    socklen_t l = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
    printf("SO_ERROR %s\n", err ? errname(err) : "0");
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l) == 0);
    printf("SO_ERROR again %d\n", err);
    show("after SO_ERROR", events(c));
    close(c);
}

static void binding(void) {
    int a1 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    CHECK(bind(a1, (struct sockaddr *)&a, sizeof a) == 0);
    int port = port_of(a1);
    printf("getsockname after bind to port 0: ephemeral in range %d\n", port >= 32768 && port <= 60999);
    EXPECT_ERRNO(bind(a1, (struct sockaddr *)&a, sizeof a), EINVAL);
    int a2 = socket(AF_INET, SOCK_STREAM, 0);
    a = lo(port);
    EXPECT_ERRNO(bind(a2, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    struct sockaddr_in any = a;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    EXPECT_ERRNO(bind(a2, (struct sockaddr *)&any, sizeof any), EADDRINUSE);
    close(a2);
    close(a1);

    /* SO_REUSEADDR on both: sharing is fine until one listens. */
    int one = 1;
    int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a = lo(0);
    CHECK(bind(r1, (struct sockaddr *)&a, sizeof a) == 0);
    a = lo(port_of(r1));
    CHECK(bind(r2, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(r1, 1) == 0);
    CHECK(listen(r1, 5) == 0);
    EXPECT_ERRNO(listen(r2, 1), EADDRINUSE);
    int r3 = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(r3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_ERRNO(bind(r3, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    close(r1);
    close(r2);
    close(r3);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in far = lo(0);
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    EXPECT_ERRNO(bind(s, (struct sockaddr *)&far, sizeof far), EADDRNOTAVAIL);
    EXPECT_ERRNO(bind(s, (struct sockaddr *)&far, 8), EINVAL);
    struct sockaddr_in6 six;
    memset(&six, 0, sizeof six);
    six.sin6_family = AF_INET6;
    EXPECT_ERRNO(bind(s, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT);
    EXPECT_ERRNO(connect(s, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT);
    EXPECT_ERRNO(connect(s, (struct sockaddr *)&far, 4), EINVAL);
    /* Listening without a bind picks a port. */
    CHECK(listen(s, 1) == 0);
    port = port_of(s);
    printf("listen without bind: ephemeral in range %d\n", port >= 32768 && port <= 60999);
    EXPECT_ERRNO(connect(s, (struct sockaddr *)&a, sizeof a), EISCONN);
    close(s);
}

static void unconnected(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    show("fresh socket", events(s));
    char b[4];
    struct sockaddr_in a;
    EXPECT_ERRNO(getpeername(s, (struct sockaddr *)&a, &(socklen_t){sizeof a}), ENOTCONN);
    EXPECT_ERRNO(recv(s, b, sizeof b, 0), ENOTCONN);
    EXPECT_ERRNO(read(s, b, sizeof b), ENOTCONN);
    /* The state is looked at before the (bad) buffer. */
    EXPECT_ERRNO(send(s, (void *)1, 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERRNO(recv(s, (void *)1, 1, MSG_DONTWAIT), ENOTCONN);
    /* shutdown(2) of an unconnected socket says ENOTCONN but marks it all the same. */
    EXPECT_ERRNO(shutdown(s, SHUT_RD), ENOTCONN);
    show("unconnected after SHUT_RD", events(s));
    CHECK(recv(s, b, sizeof b, MSG_DONTWAIT) == 0);
    EXPECT_ERRNO(shutdown(s, SHUT_RDWR), ENOTCONN);
    show("unconnected after SHUT_RDWR", events(s));
    EXPECT_ERRNO(shutdown(s, 7), EINVAL);
    EXPECT_ERRNO(accept(s, NULL, NULL), EINVAL);
    sigpipes = 0;
    EXPECT_ERRNO(send(s, "x", 1, 0), EPIPE);
    printf("SIGPIPEs: %d\n", (int)sigpipes);
    EXPECT_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), EPIPE);
    printf("SIGPIPEs after MSG_NOSIGNAL: %d\n", (int)sigpipes);
    close(s);
}

static void shutdowns(void) {
    int c, d;
    pair(&c, &d);
    show("connected", events(c));
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    CHECK(getpeername(c, (struct sockaddr *)&a, &l) == 0);
    EXPECT_ERRNO(listen(c, 1), EINVAL);
    CHECK(write(c, "hello", 5) == 5);
    int n = -1;
    struct pollfd p = {.fd = d, .events = POLLIN};
    poll(&p, 1, 5000);
    CHECK(ioctl(d, FIONREAD, &n) == 0);
    printf("FIONREAD %d\n", n);
    char b[16];
    CHECK(recv(d, b, 2, MSG_PEEK) == 2);
    CHECK(recv(d, b, sizeof b, MSG_DONTWAIT) == 5);
    EXPECT_ERRNO(recv(d, b, sizeof b, MSG_DONTWAIT), EAGAIN);
    CHECK(shutdown(c, SHUT_WR) == 0);
    sigpipes = 0;
    EXPECT_ERRNO(write(c, "x", 1), EPIPE);
    printf("SIGPIPEs after write on SHUT_WR: %d\n", (int)sigpipes);
    poll(&p, 1, 5000);
    show("peer after SHUT_WR", events(d));
    CHECK(read(d, b, sizeof b) == 0);
    CHECK(write(d, "back", 4) == 4);
    CHECK(read(c, b, sizeof b) == 4);
    CHECK(shutdown(d, SHUT_WR) == 0);
    p.fd = c;
    poll(&p, 1, 5000);
    show("both shut", events(c));
    CHECK(read(c, b, sizeof b) == 0);
    close(c);
    close(d);

    /* A close with unread data resets the connection. */
    pair(&c, &d);
    CHECK(write(c, "unread", 6) == 6);
    p.fd = d;
    poll(&p, 1, 5000);
    close(d);
    p.fd = c;
    poll(&p, 1, 5000);
    EXPECT_ERRNO(recv(c, b, sizeof b, 0), ECONNRESET);
    CHECK(recv(c, b, sizeof b, 0) == 0);
    close(c);

    /* The peer's close: EOF after the data. */
    pair(&c, &d);
    CHECK(write(d, "last", 4) == 4);
    close(d);
    p.fd = c;
    poll(&p, 1, 5000);
    show("peer closed", events(c));
    CHECK(read(c, b, sizeof b) == 4);
    CHECK(read(c, b, sizeof b) == 0);
    close(c);
}

/* Without privilege: no port below 1024, no SO_PRIORITY above 6. */
static void unprivileged(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = lo(1023);
        if (bind(s, (struct sockaddr *)&a, sizeof a) != -1 || errno != EACCES)
            _exit(11);
        int six = AF_INET6, v = 7;
        int t = socket(six, SOCK_DGRAM, 0);
        if (setsockopt(t, SOL_SOCKET, SO_PRIORITY, &v, sizeof v) != -1 || errno != EPERM)
            _exit(12);
        v = 6;
        if (setsockopt(t, SOL_SOCKET, SO_PRIORITY, &v, sizeof v) != 0)
            _exit(13);
        a = lo(0);
        if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
            _exit(14);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("unprivileged child: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    unprivileged();
    creation();
    refused();
    binding();
    unconnected();
    shutdowns();
    return finish();
}
