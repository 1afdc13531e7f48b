/* A multi-process AF_UNIX server: a parent accepts stream connections from
 * five forked children (blocking accept, SO_PEERCRED telling which child),
 * serves five seqpacket clients at once through epoll, and answers datagrams
 * from five autobound clients at the address recvfrom reports. Children check
 * the answers and report through their exit status; output is in child order. */
#include "common.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define KIDS 5

/* CHECK for loops whose order varies from run to run: silent unless it fails. */
#define QUIET_CHECK(cond)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL %s (line %d, errno %s)\n", #cond, __LINE__,           \
                   errname(errno));                                            \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static struct sockaddr_un addr(const char *p) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, p, strlen(p));
    return a;
}

static void reap_all(pid_t *kids, const char *what) {
    for (int i = 0; i < KIDS; i++) {
        int st;
        CHECK(waitpid(kids[i], &st, 0) == kids[i]);
        printf("%s child %d: exit %d\n", what, i, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
}

static void stream_server(void) {
    unlink("srv");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = addr("srv");
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(s, KIDS) == 0);
    pid_t kids[KIDS];
    fflush(stdout);
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(s);
            int c = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
                _exit(10);
            char msg[32];
            int n = snprintf(msg, sizeof msg, "hello from %d", i);
            if (write(c, msg, n) != n)
                _exit(11);
            shutdown(c, SHUT_WR);
            char reply[32] = {0};
            ssize_t got = 0, r;
            while ((r = read(c, reply + got, sizeof reply - 1 - got)) > 0)
                got += r;
            char want[32];
            snprintf(want, sizeof want, "welcome %d", i);
            _exit(strcmp(reply, want) == 0 ? i : 12);
        }
    }
    int seen[KIDS] = {0}, peer_ok[KIDS] = {0};
    for (int k = 0; k < KIDS; k++) {
        int c = accept(s, NULL, NULL);
        CHECK(c >= 0);
        char msg[64] = {0};
        ssize_t got = 0, r;
        while ((r = read(c, msg + got, sizeof msg - 1 - got)) > 0)
            got += r;
        int i = -1;
        if (sscanf(msg, "hello from %d", &i) != 1 || i < 0 || i >= KIDS) {
            printf("bad request '%s'\n", msg);
            failures++;
            close(c);
            continue;
        }
        seen[i]++;
        struct ucred u;
        socklen_t l = sizeof u;
        CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &u, &l) == 0);
        peer_ok[i] = u.pid == kids[i];
        char reply[32];
        int n = snprintf(reply, sizeof reply, "welcome %d", i);
        CHECK(write(c, reply, n) == n);
        close(c);
    }
    for (int i = 0; i < KIDS; i++)
        printf("stream: child %d connected %d time(s), SO_PEERCRED is that child %d\n", i, seen[i], peer_ok[i]);
    reap_all(kids, "stream");
    close(s);
    unlink("srv");
}

static void seqpacket_epoll_server(void) {
    unlink("seqsrv");
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = addr("seqsrv");
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(s, KIDS) == 0);
    pid_t kids[KIDS];
    fflush(stdout);
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(s);
            int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
            if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
                _exit(10);
            int sum = 0;
            for (int m = 0; m < 3; m++) {
                char msg[16];
                int n = snprintf(msg, sizeof msg, "%d:%d", i, m);
                if (send(c, msg, n, 0) != n)
                    _exit(11);
                char reply[16] = {0};
                if (recv(c, reply, sizeof reply, 0) <= 0)
                    _exit(12);
                sum += atoi(reply);
            }
            /* Each reply is i*10+m: the sum is 30i + 3. */
            _exit(sum == 30 * i + 3 ? i : 13);
        }
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.fd = s}};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0);
    int msgs[KIDS] = {0}, closed = 0, accepted = 0;
    while (closed < KIDS) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, 10000);
        if (n <= 0) {
            printf("epoll_wait timed out\n");
            failures++;
            break;
        }
        for (int k = 0; k < n; k++) {
            int fd = out[k].data.fd;
            if (fd == s) {
                int c;
                while ((c = accept4(s, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = {EPOLLIN | EPOLLRDHUP, {.fd = c}};
                    QUIET_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) == 0);
                    accepted++;
                }
                QUIET_CHECK(errno == EAGAIN);
                continue;
            }
            char msg[16];
            ssize_t r;
            while ((r = recv(fd, msg, sizeof msg - 1, 0)) > 0) {
                msg[r] = 0;
                int i, m;
                if (sscanf(msg, "%d:%d", &i, &m) == 2 && i >= 0 && i < KIDS) {
                    msgs[i]++;
                    char reply[16];
                    int len = snprintf(reply, sizeof reply, "%d", i * 10 + m);
                    QUIET_CHECK(send(fd, reply, len, 0) == len);
                }
            }
            if (r == 0) {
                QUIET_CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
                close(fd);
                closed++;
            } else {
                QUIET_CHECK(errno == EAGAIN);
            }
        }
    }
    printf("seqpacket: %d accepted, %d closed\n", accepted, closed);
    for (int i = 0; i < KIDS; i++)
        printf("seqpacket: child %d sent %d messages\n", i, msgs[i]);
    reap_all(kids, "seqpacket");
    close(ep);
    close(s);
    unlink("seqsrv");
}

static void dgram_server(void) {
    unlink("dgsrv");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = addr("dgsrv");
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    pid_t kids[KIDS];
    fflush(stdout);
    for (int i = 0; i < KIDS; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(s);
            int c = socket(AF_UNIX, SOCK_DGRAM, 0);
            struct sockaddr_un fam = {AF_UNIX, {0}};
            if (bind(c, (struct sockaddr *)&fam, offsetof(struct sockaddr_un, sun_path)) != 0)
                _exit(10);
            char msg[16];
            int n = snprintf(msg, sizeof msg, "q%d", i);
            if (sendto(c, msg, n, 0, (struct sockaddr *)&a, sizeof a) != n)
                _exit(11);
            char reply[16] = {0};
            struct sockaddr_un from;
            socklen_t fl = sizeof from;
            if (recvfrom(c, reply, sizeof reply, 0, (struct sockaddr *)&from, &fl) <= 0)
                _exit(12);
            char want[16];
            snprintf(want, sizeof want, "a%d", i);
            _exit(strcmp(reply, want) == 0 && fl == sizeof "dgsrv" + offsetof(struct sockaddr_un, sun_path) ? i : 13);
        }
    }
    int seen[KIDS] = {0};
    for (int k = 0; k < KIDS; k++) {
        char msg[16] = {0};
        struct sockaddr_un from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&from, &fl);
        int i;
        if (r <= 0 || sscanf(msg, "q%d", &i) != 1 || i < 0 || i >= KIDS) {
            failures++;
            continue;
        }
        seen[i] += fl == 8 && from.sun_path[0] == 0;
        char reply[16];
        int n = snprintf(reply, sizeof reply, "a%d", i);
        CHECK(sendto(s, reply, n, 0, (struct sockaddr *)&from, fl) == n);
    }
    for (int i = 0; i < KIDS; i++)
        printf("dgram: child %d asked from an autobound address %d time(s)\n", i, seen[i]);
    reap_all(kids, "dgram");
    close(s);
    unlink("dgsrv");
}

int main(void) {
    stream_server();
    seqpacket_epoll_server();
    dgram_server();
    return finish();
}
