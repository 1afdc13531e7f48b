/* Blocking inet calls and signals: a handler without SA_RESTART ends a
 * blocking recv, accept or recvfrom with EINTR; with SA_RESTART the recv goes
 * on and gets the data a child sends later; with SO_RCVTIMEO the wait ends in
 * EAGAIN, and a signal ends it with EINTR even with SA_RESTART. Then a
 * connected TCP socket passed to a child over AF_UNIX (SCM_RIGHTS) keeps
 * working there. Run under --network=host and none. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

static void handler(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
}

static void alarm_in_ms(int ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
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
    getsockname(s, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static int listener(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    listen(s, 4);
    return s;
}

static void pair(int s, int *c, int *d) {
    struct sockaddr_in a = lo(port_of(s));
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&a, sizeof a) != 0)
        printf("FAIL connect: %s\n", errname(errno));
    *d = accept(s, NULL, NULL);
}

static void interrupted(void) {
    int s = listener();
    int c, d;
    pair(s, &c, &d);
    char b[16];
    handler(0);
    alarm_in_ms(100);
    EXPECT_ERRNO(recv(c, b, sizeof b, 0), EINTR);
    alarm_in_ms(100);
    EXPECT_ERRNO(accept(s, NULL, NULL), EINTR);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = lo(0);
    bind(u, (struct sockaddr *)&a, sizeof a);
    alarm_in_ms(100);
    EXPECT_ERRNO(recvfrom(u, b, sizeof b, 0, NULL, NULL), EINTR);
    printf("alarms: %d\n", (int)alarms);

    /* SA_RESTART: the recv goes on until the data comes. */
    handler(1);
    alarms = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(400000);
        _exit(write(d, "late", 4) == 4 ? 0 : 1);
    }
    alarm_in_ms(100);
    ssize_t n = recv(c, b, sizeof b, 0);
    printf("restarted recv: %zd, handler ran %d\n", n, alarms > 0);
    int st;
    waitpid(pid, &st, 0);

    /* SO_RCVTIMEO: EAGAIN at the end; a signal gives EINTR though SA_RESTART. */
    struct timeval tv = {0, 200000};
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    EXPECT_ERRNO(recv(c, b, sizeof b, 0), EAGAIN);
    tv.tv_sec = 5;
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    alarm_in_ms(100);
    EXPECT_ERRNO(recv(c, b, sizeof b, 0), EINTR);
    /* A negative timeout means no wait at all (and reads back as none). */
    tv.tv_sec = -1;
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    EXPECT_ERRNO(recv(c, b, sizeof b, 0), EAGAIN);
    socklen_t tl = sizeof tv;
    CHECK(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0);
    printf("negative SO_RCVTIMEO reads back as %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    /* An accepted socket inherits the listener's timeout. */
    tv.tv_sec = 0;
    tv.tv_usec = 100000;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    EXPECT_ERRNO(accept(s, NULL, NULL), EAGAIN);
    int c2, d2;
    pair(s, &c2, &d2);
    EXPECT_ERRNO(recv(d2, b, sizeof b, 0), EAGAIN);
    close(c2);
    close(d2);
    close(u);
    close(c);
    close(d);
    close(s);
}

static void passed(void) {
    int s = listener();
    int c, d;
    pair(s, &c, &d);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char x;
        char ctl[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&x, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        if (recvmsg(sv[1], &m, 0) != 1)
            _exit(10);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        if (!cm || cm->cmsg_type != SCM_RIGHTS)
            _exit(11);
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        int dom = 0;
        socklen_t l = sizeof dom;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) != 0 || dom != AF_INET)
            _exit(12);
        char b[8];
        if (read(fd, b, 4) != 4 || memcmp(b, "ping", 4) != 0)
            _exit(13);
        if (write(fd, "pong", 4) != 4)
            _exit(14);
        _exit(0);
    }
    close(sv[1]);
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &d, sizeof d);
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    close(d);
    CHECK(write(c, "ping", 4) == 4);
    char b[8];
    CHECK(read(c, b, 4) == 4 && memcmp(b, "pong", 4) == 0);
    int st;
    waitpid(pid, &st, 0);
    printf("child with the passed socket: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(sv[0]);
    close(c);
    /* On an inet socket SCM_RIGHTS is ignored; an unknown SOL_SOCKET message is not. */
    pair(s, &c, &d);
    m.msg_controllen = sizeof ctl;
    memcpy(CMSG_DATA(cm), &c, sizeof c);
    CHECK(sendmsg(c, &m, 0) == 1);
    CHECK(read(d, b, 1) == 1 && b[0] == 'x');
    cm->cmsg_type = 99;
    EXPECT_ERRNO(sendmsg(c, &m, 0), EINVAL);
    close(c);
    close(d);
    close(s);
}

int main(void) {
    interrupted();
    passed();
    return finish();
}
