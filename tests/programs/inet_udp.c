/* UDP over the loopback: ping-pong between a forked child and its parent over
 * 127.0.0.1 (sendto/recvfrom and the addresses they report), MSG_PEEK,
 * MSG_TRUNC both ways, FIONREAD, connect and the filter it sets, a
 * connected send to a port nobody has (ECONNREFUSED on the next call), the
 * size limit, shutdown, and a ping over ::1. Run under --network=host and none. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

static int bound(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = lo(0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
        printf("FAIL bind: %s\n", errname(errno));
    return s;
}

static void ping_pong(void) {
    int srv = bound();
    int port = port_of(srv);
    printf("server port ephemeral %d\n", port >= 32768 && port <= 60999);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child answers each datagram, to whoever sent it, with it upper-cased. */
        for (int i = 0; i < 5; i++) {
            char buf[64];
            struct sockaddr_in from;
            socklen_t l = sizeof from;
            ssize_t n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &l);
            if (n < 0 || l != sizeof from)
                _exit(10);
            for (ssize_t j = 0; j < n; j++)
                if (buf[j] >= 'a' && buf[j] <= 'z')
                    buf[j] -= 32;
            if (sendto(srv, buf, n, 0, (struct sockaddr *)&from, l) != n)
                _exit(11);
        }
        _exit(0);
    }
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo(port);
    for (int i = 0; i < 5; i++) {
        char msg[32], back[64];
        int n = snprintf(msg, sizeof msg, "ping %d", i);
        CHECK(sendto(c, msg, n, 0, (struct sockaddr *)&to, sizeof to) == n);
        struct sockaddr_in from;
        socklen_t l = sizeof from;
        ssize_t r = recvfrom(c, back, sizeof back, 0, (struct sockaddr *)&from, &l);
        back[r > 0 ? r : 0] = 0;
        char ip[32];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("got '%s' from %s, the server's port %d\n", back, ip, ntohs(from.sin_port) == port);
    }
    /* The sender was bound automatically, to the wildcard address. */
    struct sockaddr_in me;
    socklen_t l = sizeof me;
    CHECK(getsockname(c, (struct sockaddr *)&me, &l) == 0);
    printf("client bound to %s, ephemeral %d\n", inet_ntoa(me.sin_addr),
           ntohs(me.sin_port) >= 32768 && ntohs(me.sin_port) <= 60999);
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(c);
    close(srv);
}

static void flags(void) {
    int r = bound();
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo(port_of(r));
    CHECK(sendto(s, "0123456789", 10, 0, (struct sockaddr *)&to, sizeof to) == 10);
    CHECK(sendto(s, "abc", 3, 0, (struct sockaddr *)&to, sizeof to) == 3);
    struct pollfd p = {.fd = r, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    int n = -1;
    CHECK(ioctl(r, FIONREAD, &n) == 0);
    printf("FIONREAD %d\n", n);
    char buf[16];
    CHECK(recv(r, buf, 4, MSG_PEEK) == 4);
    CHECK(recv(r, buf, 4, MSG_TRUNC) == 10);
    struct iovec iov = {buf, 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(r, &m, 0) == 2);
    printf("msg_flags has MSG_TRUNC %d\n", !!(m.msg_flags & MSG_TRUNC));
    EXPECT_ERRNO(recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    CHECK(ioctl(r, FIONREAD, &n) == 0);
    printf("FIONREAD when empty %d\n", n);
    static char big[65508];
    EXPECT_ERRNO(sendto(s, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to), EMSGSIZE);
    struct sockaddr_in zero = lo(0);
    EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&zero, sizeof zero), EINVAL);
    EXPECT_ERRNO(send(s, "x", 1, 0), EDESTADDRREQ);
    EXPECT_ERRNO(send(s, (void *)1, 1, 0), EDESTADDRREQ);
    EXPECT_ERRNO(recv(r, (void *)1, 1, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&to, 4), EINVAL);
    EXPECT_ERRNO(listen(s, 1), EOPNOTSUPP);
    EXPECT_ERRNO(accept(s, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERRNO(shutdown(s, SHUT_RD), ENOTCONN);
    close(s);
    close(r);
}

static void connected(void) {
    int r = bound();
    int other = bound();
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo(port_of(r));
    CHECK(connect(c, (struct sockaddr *)&to, sizeof to) == 0);
    struct sockaddr_in me, peer;
    socklen_t l = sizeof me;
    CHECK(getsockname(c, (struct sockaddr *)&me, &l) == 0);
    printf("connected: bound to %s\n", inet_ntoa(me.sin_addr));
    l = sizeof peer;
    CHECK(getpeername(c, (struct sockaddr *)&peer, &l) == 0);
    printf("peer is the receiver: %d\n", ntohs(peer.sin_port) == port_of(r));
    CHECK(send(c, "hi", 2, 0) == 2);
    char buf[8];
    struct sockaddr_in from;
    l = sizeof from;
    CHECK(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &l) == 2);
    printf("receiver saw the connected port: %d\n", from.sin_port == me.sin_port);
    /* Only the peer's datagrams reach a connected socket. */
    struct sockaddr_in cme = lo(ntohs(me.sin_port));
    CHECK(sendto(other, "no", 2, 0, (struct sockaddr *)&cme, sizeof cme) == 2);
    CHECK(sendto(r, "yes", 3, 0, (struct sockaddr *)&cme, sizeof cme) == 3);
    struct pollfd p = {.fd = c, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    CHECK(recv(c, buf, sizeof buf, 0) == 3 && memcmp(buf, "yes", 3) == 0);
    EXPECT_ERRNO(recv(c, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    CHECK(shutdown(c, SHUT_WR) == 0);
    EXPECT_ERRNO(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    /* A datagram socket's EPIPE comes without SIGPIPE, from write(2) too. */
    signal(SIGPIPE, SIG_DFL);
    EXPECT_ERRNO(write(c, "x", 1), EPIPE);
    EXPECT_ERRNO(send(c, "x", 1, 0), EPIPE);
    /* Dissolving the association frees the automatic port. */
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK(connect(c, &unspec, sizeof unspec) == 0);
    EXPECT_ERRNO(getpeername(c, (struct sockaddr *)&peer, &(socklen_t){sizeof peer}), ENOTCONN);
    l = sizeof me;
    CHECK(getsockname(c, (struct sockaddr *)&me, &l) == 0);
    printf("after AF_UNSPEC: %s port %d\n", inet_ntoa(me.sin_addr), ntohs(me.sin_port));
    close(c);

    /* Nobody at the port: the connected sender hears of it on its next call. */
    int gone = bound();
    struct sockaddr_in dead = lo(port_of(gone));
    close(gone);
    c = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(connect(c, (struct sockaddr *)&dead, sizeof dead) == 0);
    CHECK(send(c, "x", 1, 0) == 1);
    usleep(100000);
    p.events = POLLIN | POLLOUT;
    poll(&p, 1, 0);
    printf("after the refusal: POLLERR %d\n", !!(p.revents & POLLERR));
    EXPECT_ERRNO(recv(c, buf, sizeof buf, MSG_DONTWAIT), ECONNREFUSED);
    EXPECT_ERRNO(recv(c, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(c);
    close(other);
    close(r);
}

static void six(void) {
    int r = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    CHECK(bind(r, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t l = sizeof a;
    CHECK(getsockname(r, (struct sockaddr *)&a, &l) == 0);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    CHECK(sendto(s, "six", 3, 0, (struct sockaddr *)&a, sizeof a) == 3);
    char buf[8];
    struct sockaddr_in6 from;
    l = sizeof from;
    CHECK(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &l) == 3);
    char ip[64];
    inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
    printf("v6: from %s, length %u\n", ip, l);
    /* A v6 socket bound to :: also gets IPv4 datagrams, from v4-mapped addresses. */
    int any = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 w;
    memset(&w, 0, sizeof w);
    w.sin6_family = AF_INET6;
    CHECK(bind(any, (struct sockaddr *)&w, sizeof w) == 0);
    l = sizeof w;
    getsockname(any, (struct sockaddr *)&w, &l);
    int v4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo(ntohs(w.sin6_port));
    CHECK(sendto(v4, "four", 4, 0, (struct sockaddr *)&to, sizeof to) == 4);
    l = sizeof from;
    CHECK(recvfrom(any, buf, sizeof buf, 0, (struct sockaddr *)&from, &l) == 4);
    inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
    printf("v6 wildcard: from %s\n", ip);
    close(v4);
    close(any);
    close(s);
    close(r);
}

int main(void) {
    ping_pong();
    flags();
    connected();
    six();
    return finish();
}
