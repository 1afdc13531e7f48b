/* TCP over the loopback: a forked client and an echo server over 127.0.0.1
 * (blocking calls, a 200000-byte message that must flow back, MSG_WAITALL,
 * shutdown EOF), the same with non-blocking sockets and epoll (three clients,
 * non-blocking connect, EINPROGRESS then SO_ERROR), and over ::1 and a
 * v4-mapped address from an IPv6 socket. Run under --network=host and none. */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define BIG 200000

static int ephemeral(int port) { return port >= 32768 && port <= 60999; }

static int listener(int family, int flags, int *port) {
    int s = socket(family, SOCK_STREAM | flags, 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (void *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    CHECK(bind(s, (struct sockaddr *)&ss, len) == 0);
    CHECK(listen(s, 8) == 0);
    CHECK(getsockname(s, (struct sockaddr *)&ss, &len) == 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    printf("listener family %d: ephemeral port %d\n", family, ephemeral(*port));
    return s;
}

static struct sockaddr_in v4(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int reap(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Echoes what arrives on c until EOF; returns the byte count. */
static long echo(int c) {
    static char buf[65536];
    long total = 0;
    for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0)
            return n < 0 ? -1 : total;
        total += n;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c, buf + off, n - off);
            if (w <= 0)
                return -1;
            off += w;
        }
    }
}

/* The client's side of the blocking exchange; exits with a code saying what failed. */
static void client(struct sockaddr *a, socklen_t len, int family) {
    int c = socket(family, SOCK_STREAM, 0);
    if (connect(c, a, len) != 0)
        _exit(10);
    static char out[BIG], in[BIG];
    for (int i = 0; i < BIG; i++)
        out[i] = (char)(i * 7 + 3);
    /* A writer child, so that the echo never waits on a full buffer both ways. */
    pid_t w = fork();
    if (w == 0) {
        if (write(c, "hello", 5) != 5)
            _exit(1);
        for (int off = 0; off < BIG;) {
            ssize_t n = send(c, out + off, BIG - off, 0);
            if (n <= 0)
                _exit(2);
            off += n;
        }
        if (shutdown(c, SHUT_WR) != 0)
            _exit(3);
        _exit(0);
    }
    char hello[5];
    if (recv(c, hello, 5, MSG_WAITALL) != 5 || memcmp(hello, "hello", 5) != 0)
        _exit(11);
    if (recv(c, in, BIG, MSG_WAITALL) != BIG)
        _exit(12);
    if (memcmp(in, out, BIG) != 0)
        _exit(13);
    if (read(c, in, 1) != 0)
        _exit(14);
    if (reap(w) != 0)
        _exit(15);
    _exit(0);
}

static void blocking(int family) {
    int port;
    int s = listener(family, 0, &port);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in a = v4(port);
        memcpy(&ss, &a, sizeof a);
        len = sizeof a;
    } else {
        struct sockaddr_in6 *a = (void *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        client((struct sockaddr *)&ss, len, family);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int c = accept(s, (struct sockaddr *)&peer, &plen);
    CHECK(c >= 0);
    printf("accepted: address length %u, family %d\n", plen, peer.ss_family);
    struct sockaddr_storage me;
    socklen_t mlen = sizeof me;
    CHECK(getsockname(c, (struct sockaddr *)&me, &mlen) == 0);
    int myport = ntohs(family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
                                         : ((struct sockaddr_in6 *)&me)->sin6_port);
    printf("accepted socket's port is the listener's: %d\n", myport == port);
    int pport = ntohs(family == AF_INET ? ((struct sockaddr_in *)&peer)->sin_port
                                        : ((struct sockaddr_in6 *)&peer)->sin6_port);
    printf("peer port ephemeral: %d\n", ephemeral(pport));
    if (family == AF_INET) {
        char ip[32];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof ip);
        printf("peer address %s\n", ip);
    } else {
        char ip[64];
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof ip);
        printf("peer address %s\n", ip);
    }
    long n = echo(c);
    printf("echoed %ld bytes\n", n);
    close(c);
    printf("client exit %d\n", reap(pid));
    close(s);
}

/* Three non-blocking clients served through epoll by one non-blocking server. */
static void nonblocking_epoll(void) {
    int port;
    int s = listener(AF_INET, SOCK_NONBLOCK, &port);
    EXPECT_ERRNO(accept(s, NULL, NULL), EAGAIN);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
    fflush(stdout);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            struct sockaddr_in a = v4(port);
            int r = connect(c, (struct sockaddr *)&a, sizeof a);
            if (r != 0 && errno != EINPROGRESS)
                _exit(20);
            struct pollfd p = {.fd = c, .events = POLLOUT};
            if (poll(&p, 1, 10000) != 1 || !(p.revents & POLLOUT))
                _exit(21);
            int err = -1;
            socklen_t l = sizeof err;
            if (getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0)
                _exit(22);
            char msg[16];
            int n = snprintf(msg, sizeof msg, "client %d", i);
            if (send(c, msg, n, 0) != n)
                _exit(23);
            char back[16];
            p.events = POLLIN;
            if (poll(&p, 1, 10000) != 1)
                _exit(24);
            if (recv(c, back, sizeof back, 0) != n || memcmp(back, msg, n) != 0)
                _exit(25);
            if (recv(c, back, 1, 0) != -1 || errno != EAGAIN)
                _exit(26);
            _exit(0);
        }
    }
    int done = 0, accepted = 0;
    while (done < 3) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, 10000);
        if (n <= 0) {
            printf("epoll_wait timed out\n");
            failures++;
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == s) {
                int c;
                while ((c = accept4(s, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    accepted++;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                if (errno != EAGAIN) {
                    printf("accept4: %s\n", errname(errno));
                    failures++;
                }
                continue;
            }
            char buf[64];
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r > 0) {
                if (send(fd, buf, r, 0) != r)
                    failures++;
            } else if (r == 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                done++;
            } else if (errno != EAGAIN) {
                printf("recv: %s\n", errname(errno));
                failures++;
            }
        }
    }
    printf("epoll server: accepted %d, finished %d\n", accepted, done);
    for (int i = 0; i < 3; i++)
        printf("epoll client %d: exit %d\n", i, reap(kids[i]));
    close(ep);
    close(s);
}

/* An IPv6 socket reaches an IPv4 listener through a v4-mapped address. */
static void mapped(void) {
    int port;
    int s = listener(AF_INET, 0, &port);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    struct sockaddr_in peer;
    socklen_t l = sizeof peer;
    int d = accept(s, (struct sockaddr *)&peer, &l);
    CHECK(d >= 0);
    char ip[32];
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    printf("mapped: listener sees %s, length %u\n", ip, l);
    struct sockaddr_in6 me;
    l = sizeof me;
    CHECK(getsockname(c, (struct sockaddr *)&me, &l) == 0);
    char ip6[64];
    inet_ntop(AF_INET6, &me.sin6_addr, ip6, sizeof ip6);
    printf("mapped: client is %s\n", ip6);
    CHECK(write(c, "x", 1) == 1);
    char b;
    CHECK(read(d, &b, 1) == 1 && b == 'x');
    close(c);
    close(d);
    close(s);
}

int main(void) {
    blocking(AF_INET);
    blocking(AF_INET6);
    nonblocking_epoll();
    mapped();
    return finish();
}
