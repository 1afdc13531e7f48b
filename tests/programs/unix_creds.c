/* Credentials on AF_UNIX sockets: SO_PEERCRED of a socketpair, an unconnected
 * socket, a listener, and both ends of a connection made by a child (taken at
 * connect time, not changed by a later setuid); SCM_CREDENTIALS with
 * SO_PASSCRED: the sender's real ids by default, explicit ones checked
 * (EINVAL, ESRCH, and EPERM without privilege), messages sent before anyone
 * asked for credentials, streams that do not glue data of different writers,
 * a truncated credentials message, and credentials before descriptors.
 * Pids are printed only as comparisons. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

static struct ucred peercred(int s) {
    struct ucred u = {-7, 7, 7};
    socklen_t l = sizeof u;
    if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &l) != 0 || l != sizeof u)
        printf("SO_PEERCRED failed: %s len %d\n", errname(errno), (int)l);
    return u;
}

static void show_peercred(const char *what, int s, pid_t expect_pid) {
    struct ucred u = peercred(s);
    printf("%s: pid is expected %d, uid is euid %d, gid is egid %d\n", what, u.pid == expect_pid,
           u.uid == geteuid(), u.gid == getegid());
}

static union {
    char b[512];
    struct cmsghdr align;
} cb;

static ssize_t send_creds(int s, const char *data, pid_t pid, uid_t uid, gid_t gid) {
    struct iovec io = {(void *)data, strlen(data)};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = cb.b;
    m.msg_controllen = CMSG_SPACE(sizeof(struct ucred));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred u = {pid, uid, gid};
    memcpy(CMSG_DATA(c), &u, sizeof u);
    return sendmsg(s, &m, 0);
}

/* Receives one message and describes its control messages; pids as roles. */
static void recv_show(const char *what, int s, size_t ctl, pid_t me, pid_t other) {
    char d[64] = {0};
    struct iovec io = {d, sizeof d - 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    static union {
        char b[512];
        struct cmsghdr align;
    } rb;
    memset(rb.b, 0, sizeof rb.b);
    m.msg_control = rb.b;
    m.msg_controllen = ctl;
    ssize_t r = recvmsg(s, &m, MSG_DONTWAIT);
    if (r < 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    printf("%s: %zd '%s' MSG_CTRUNC %d controllen %zu", what, r, d, !!(m.msg_flags & MSG_CTRUNC),
           (size_t)m.msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred u = {0, 0, 0};
            size_t n = c->cmsg_len - CMSG_LEN(0);
            memcpy(&u, CMSG_DATA(c), n < sizeof u ? n : sizeof u);
            const char *who = u.pid == me ? "me" : u.pid == other ? "other" : u.pid == 0 ? "0" : "?";
            printf(" | SCM_CREDENTIALS len %zu pid %s uid %u gid %u", (size_t)c->cmsg_len, who, u.uid,
                   n >= sizeof u ? u.gid : 4242);
        } else if (c->cmsg_type == SCM_RIGHTS) {
            int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            printf(" | SCM_RIGHTS %d", n);
            for (int i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                close(fd);
            }
        }
    }
    printf("\n");
}

static void peercreds(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    show_peercred("socketpair", sv[0], getpid());
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct ucred c = peercred(u);
    printf("unconnected: pid %d uid %d gid %d\n", c.pid, (int)c.uid, (int)c.gid);
    struct ucred small = {-7, 7, 7};
    socklen_t l = 4;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &small, &l) == 0);
    printf("into 4 bytes: len %d pid is mine %d uid untouched %d\n", (int)l, small.pid == getpid(), small.uid == 7);
    l = 100;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &small, &l) == 0 && l == sizeof small);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &small, sizeof small), ENOPROTOOPT);
    close(sv[0]);
    close(sv[1]);

    /* A connection made by a child. */
    unlink("credsock");
    CHECK(bind(u, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "credsock"}, sizeof(struct sockaddr_un)) == 0);
    CHECK(listen(u, 1) == 0);
    show_peercred("listener", u, getpid());
    int report[2];
    CHECK(pipe(report) == 0);
    pid_t parent = getpid();
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
        int ok = connect(c2, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "credsock"},
                         sizeof(struct sockaddr_un)) == 0;
        struct ucred pc = peercred(c2);
        char r = '0' + (ok && pc.pid == parent);
        if (write(report[1], &r, 1) != 1)
            _exit(1);
        /* A later change of ids does not change what the peer sees. */
        if (getuid() == 0 && setresgid(4321, 4321, 4321) == 0 && setresuid(1234, 1234, 1234) == 0)
            r = 'u';
        if (write(report[1], &r, 1) != 1 || write(c2, "k", 1) != 1)
            _exit(1);
        char z;
        if (read(c2, &z, 1) != 0)
            _exit(2);
        _exit(0);
    }
    char r = 0, r2 = 0;
    CHECK(read(report[0], &r, 1) == 1);
    printf("child sees the listener's process as its peer: %c\n", r);
    int a = accept(u, NULL, NULL);
    CHECK(a >= 0 && read(report[0], &r2, 1) == 1);
    char k;
    CHECK(read(a, &k, 1) == 1);
    show_peercred("accepted from the child", a, kid);
    printf("child changed ids after connecting: %d\n", r2 == 'u');
    close(a);
    int st;
    CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(u);
    unlink("credsock");
    close(report[0]);
    close(report[1]);
}

static void scm_credentials(int type, const char *tn) {
    printf("== SCM_CREDENTIALS, %s\n", tn);
    int sv[2], one = 1;
    pid_t me = getpid();
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    /* Sent while nobody asked for credentials. */
    CHECK(send(sv[0], "early", 5, 0) == 5);
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    recv_show("sent before SO_PASSCRED", sv[1], 64, me, -1);
    CHECK(send(sv[0], "plain", 5, 0) == 5);
    recv_show("default credentials", sv[1], 64, me, -1);
    CHECK(send_creds(sv[0], "explicit", me, getuid(), getgid()) == 8);
    recv_show("explicit own", sv[1], 64, me, -1);
    CHECK(send(sv[0], "short", 5, 0) == 5);
    recv_show("into CMSG_LEN(12)-4 bytes", sv[1], CMSG_LEN(sizeof(struct ucred)) - 4, me, -1);
    CHECK(send(sv[0], "tiny", 4, 0) == 4);
    recv_show("into 8 bytes", sv[1], 8, me, -1);
    /* Credentials come before descriptors. */
    {
        int p[2];
        CHECK(pipe(p) == 0);
        struct iovec io = {"both", 4};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &io;
        m.msg_iovlen = 1;
        m.msg_control = cb.b;
        m.msg_controllen = CMSG_SPACE(2 * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(2 * sizeof(int));
        memcpy(CMSG_DATA(c), p, sizeof p);
        CHECK(sendmsg(sv[0], &m, 0) == 4);
        recv_show("with two descriptors", sv[1], 256, me, -1);
        CHECK(sendmsg(sv[0], &m, 0) == 4);
        recv_show("with two descriptors, room for one", sv[1], CMSG_SPACE(sizeof(struct ucred)) + CMSG_LEN(4), me, -1);
        close(p[0]);
        close(p[1]);
    }
    /* Checked credentials. */
    EXPECT_ERRNO(send_creds(sv[0], "x", me, (uid_t)-1, getgid()), EINVAL);
    EXPECT_ERRNO(send_creds(sv[0], "x", me, getuid(), (gid_t)-1), EINVAL);
    EXPECT_ERRNO(send_creds(sv[0], "x", 0, getuid(), getgid()), ESRCH);
    fflush(stdout);
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    EXPECT_ERRNO(send_creds(sv[0], "x", gone, getuid(), getgid()), ESRCH);
    /* A child that gives up its privilege may only claim its own ids. */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        char res[4] = "----";
        if (getuid() == 0 && setresgid(4321, 4321, 4321) == 0 && setresuid(1234, 1234, 1234) == 0) {
            errno = 0;
            res[0] = send_creds(sv[0], "k1", getppid(), 1234, 4321) < 0 && errno == EPERM ? 'P' : 'x';
            errno = 0;
            res[1] = send_creds(sv[0], "k2", getpid(), 0, 4321) < 0 && errno == EPERM ? 'U' : 'x';
            errno = 0;
            res[2] = send_creds(sv[0], "k3", getpid(), 1234, 0) < 0 && errno == EPERM ? 'G' : 'x';
            res[3] = send_creds(sv[0], "kid", getpid(), 1234, 4321) == 3 ? 'k' : 'x';
        }
        if (write(pipefd[1], res, 4) != 4)
            _exit(1);
        _exit(0);
    }
    char res[5] = {0};
    CHECK(read(pipefd[0], res, 4) == 4);
    waitpid(kid, NULL, 0);
    printf("unprivileged child: %s\n", res);
    if (res[3] == 'k')
        recv_show("from the unprivileged child", sv[1], 64, me, kid);
    /* Privileged (uid 0): another process's pid and other ids may be claimed. */
    int hold[2];
    CHECK(pipe(hold) == 0);
    fflush(stdout);
    pid_t other = fork();
    if (other == 0) {
        char z;
        close(hold[1]);
        if (read(hold[0], &z, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(hold[0]);
    if (getuid() == 0) {
        CHECK(send_creds(sv[0], "root", other, 77, 88) == 4);
        char d[8];
        struct iovec io = {d, sizeof d};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &io;
        m.msg_iovlen = 1;
        m.msg_control = cb.b;
        m.msg_controllen = sizeof cb.b;
        CHECK(recvmsg(sv[1], &m, MSG_DONTWAIT) == 4);
        struct ucred u;
        memcpy(&u, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof u);
        printf("as root: claimed a child's pid %d, uid %u gid %u\n", u.pid == other, u.uid, u.gid);
    } else {
        printf("not root: claiming another pid and ids is not tried\n");
    }
    close(hold[1]);
    waitpid(other, NULL, 0);
    close(pipefd[0]);
    close(pipefd[1]);
    close(sv[0]);
    close(sv[1]);

    /* Only the sender passes credentials: they are attached, and shown once asked for. */
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    CHECK(send(sv[0], "sender", 6, 0) == 6);
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    recv_show("attached because the sender passes", sv[1], 64, me, -1);
    close(sv[0]);
    close(sv[1]);
}

/* A stream does not glue data of different writers once credentials are passed. */
static void stream_writers(int passcred) {
    int sv[2], one = 1;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    if (passcred)
        CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    CHECK(write(sv[0], "aa", 2) == 2);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        if (write(sv[0], "bb", 2) != 2)
            _exit(1);
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    CHECK(write(sv[0], "cc", 2) == 2);
    close(sv[0]);
    printf("== stream writers, SO_PASSCRED %d\n", passcred);
    for (int i = 0; i < 4; i++)
        recv_show("read", sv[1], 64, getpid(), kid);
    close(sv[1]);
}

int main(void) {
    peercreds();
    scm_credentials(SOCK_STREAM, "stream");
    scm_credentials(SOCK_DGRAM, "dgram");
    scm_credentials(SOCK_SEQPACKET, "seqpacket");
    stream_writers(0);
    stream_writers(1);
    return finish();
}
