/* SCM_RIGHTS over AF_UNIX sockets: passed descriptors work (a pipe end, a
 * file whose offset is shared, a socket whose own descriptor was closed while
 * in flight); MSG_CMSG_CLOEXEC; a short control buffer gets what fits with
 * MSG_CTRUNC and the rest is closed (also when RLIMIT_NOFILE stops the
 * install); MSG_PEEK installs copies; a stream read stops after a message that
 * carries descriptors; the 253-descriptor limit; and what malformed control
 * messages give. Descriptor counts are printed relative to a baseline. */
#include "common.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int open_fds(void) {
    int n = 0;
    for (int i = 0; i < 1024; i++)
        if (fcntl(i, F_GETFD) >= 0)
            n++;
    return n;
}

static int baseline;

static union {
    char b[8192];
    struct cmsghdr align;
} cb;

/* Sends one byte ("x" unless data given) with one SCM_RIGHTS message of n fds. */
static ssize_t send_fds(int s, const int *fds, int n, const char *data, size_t len) {
    struct iovec io = {(void *)(data ? data : "x"), data ? len : 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = cb.b;
    m.msg_controllen = CMSG_SPACE(n * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    return sendmsg(s, &m, 0);
}

/* Receives with a control buffer of ctl bytes; returns the descriptors got. */
static int recv_fds(const char *what, int s, size_t ctl, int flags, int *out, int max) {
    char d[64];
    struct iovec io = {d, sizeof d};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    static union {
        char b[8192];
        struct cmsghdr align;
    } rb;
    memset(rb.b, 0, sizeof rb.b);
    m.msg_control = ctl ? rb.b : NULL;
    m.msg_controllen = ctl;
    ssize_t r = recvmsg(s, &m, flags | MSG_DONTWAIT);
    if (r < 0) {
        printf("%s: recvmsg %s\n", what, errname(errno));
        return 0;
    }
    int got = 0, cloexec = 0;
    printf("%s: %zd bytes, MSG_CTRUNC %d, controllen %zu", what, r, !!(m.msg_flags & MSG_CTRUNC), m.msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        printf(", SCM_RIGHTS len %zu (%d fds)", (size_t)c->cmsg_len, n);
        for (int i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            cloexec += fcntl(fd, F_GETFD) == FD_CLOEXEC;
            if (got < max)
                out[got] = fd;
            got++;
        }
    }
    printf(", %d with FD_CLOEXEC; open fds %+d\n", cloexec, open_fds() - baseline);
    return got;
}

static void close_all(int *fds, int n) {
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

static void basics(int type, const char *tn) {
    printf("== %s\n", tn);
    int sv[2], p[2], got[300];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    baseline = open_fds();
    /* A pipe's write end: what is written through the copy comes out of the pipe. */
    CHECK(send_fds(sv[0], &p[1], 1, NULL, 0) == 1);
    int n = recv_fds("one pipe end", sv[1], 64, 0, got, 300);
    char b[8] = {0};
    CHECK(n == 1 && write(got[0], "via", 3) == 3 && read(p[0], b, 3) == 3 && strcmp(b, "via") == 0);
    close_all(got, n);
    /* A file: the offset is shared with the copy. */
    int f = open("rights-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(f >= 0 && write(f, "0123456789", 10) == 10 && lseek(f, 2, SEEK_SET) == 2);
    CHECK(send_fds(sv[0], &f, 1, NULL, 0) == 1);
    n = recv_fds("a file", sv[1], 64, 0, got, 300);
    CHECK(n == 1 && read(got[0], b, 3) == 3);
    printf("offset after reading through the copy: %ld\n", (long)lseek(f, 0, SEEK_CUR));
    close_all(got, n);
    close(f);
    unlink("rights-file");
    baseline = open_fds();
    /* MSG_CMSG_CLOEXEC. */
    int three[3] = {p[0], p[1], p[0]};
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    n = recv_fds("three, MSG_CMSG_CLOEXEC", sv[1], 64, MSG_CMSG_CLOEXEC, got, 300);
    close_all(got, n);
    /* Short buffers: what fits, MSG_CTRUNC, the rest closed. */
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    n = recv_fds("three into CMSG_LEN(4)", sv[1], CMSG_LEN(sizeof(int)), 0, got, 300);
    close_all(got, n);
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    n = recv_fds("three into CMSG_SPACE(8)", sv[1], CMSG_SPACE(2 * sizeof(int)), 0, got, 300);
    close_all(got, n);
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    n = recv_fds("three into 15 bytes", sv[1], 15, 0, got, 300);
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    n = recv_fds("three without a buffer", sv[1], 0, 0, got, 300);
    /* A control pointer that cannot be written: nothing installed. */
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    {
        char d[8];
        struct iovec io = {d, sizeof d};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &io;
        m.msg_iovlen = 1;
        m.msg_control = (void *)8;
        m.msg_controllen = 64;
        ssize_t r = recvmsg(sv[1], &m, 0);
        printf("unwritable control buffer: %zd bytes, MSG_CTRUNC %d, open fds %+d\n", r, !!(m.msg_flags & MSG_CTRUNC),
               open_fds() - baseline);
    }
    /* RLIMIT_NOFILE stops the install. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    int lowest = dup(0);
    close(lowest);
    /* Only the lowest free descriptor is below the limit. */
    lim = old;
    lim.rlim_cur = lowest + 1;
    int room = 0;
    for (int i = 0; i < (int)lim.rlim_cur; i++)
        room += fcntl(i, F_GETFD) < 0;
    CHECK(send_fds(sv[0], three, 3, NULL, 0) == 1);
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    n = recv_fds("three with room for one under RLIMIT_NOFILE", sv[1], 64, 0, got, 300);
    CHECK(room == 1);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    close_all(got, n);
    /* MSG_PEEK installs copies, then the read installs them again. */
    CHECK(send_fds(sv[0], three, 2, NULL, 0) == 1);
    n = recv_fds("two, peeked", sv[1], 64, MSG_PEEK, got, 300);
    close_all(got, n);
    n = recv_fds("two, read", sv[1], 64, 0, got, 300);
    close_all(got, n);
    /* The limit: 253 in one message. */
    int many[260];
    for (int i = 0; i < 260; i++)
        many[i] = p[0];
    CHECK(send_fds(sv[0], many, 253, NULL, 0) == 1);
    n = recv_fds("253", sv[1], sizeof cb.b, 0, got, 300);
    close_all(got, n < 300 ? n : 300);
    EXPECT_ERRNO(send_fds(sv[0], many, 254, NULL, 0), EINVAL);
    int bad[2] = {p[0], 1000};
    EXPECT_ERRNO(send_fds(sv[0], bad, 2, NULL, 0), EBADF);
    bad[1] = -1;
    EXPECT_ERRNO(send_fds(sv[0], bad, 2, NULL, 0), EBADF);
    /* No descriptors at all: a plain message. */
    CHECK(send_fds(sv[0], many, 0, NULL, 0) == 1);
    n = recv_fds("zero fds", sv[1], 64, 0, got, 300);
    /* A zero-length message with descriptors. */
    errno = 0;
    ssize_t z = send_fds(sv[0], three, 1, "", 0);
    printf("zero bytes with one fd: send %zd\n", z);
    n = recv_fds("after it", sv[1], 64, 0, got, 300);
    close_all(got, n);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* Two SCM_RIGHTS messages in one control buffer are one list; the limit is on
 * the total. Malformed control messages. */
static void control_messages(void) {
    printf("== control messages\n");
    int sv[2], p[2], got[300];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    baseline = open_fds();
    struct iovec io = {"x", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = cb.b;
    memset(cb.b, 0, sizeof cb.b);
    struct cmsghdr *c = (struct cmsghdr *)cb.b;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), (int[]){p[0], p[1]}, 2 * sizeof(int));
    struct cmsghdr *c2 = (struct cmsghdr *)(cb.b + CMSG_SPACE(2 * sizeof(int)));
    c2->cmsg_level = SOL_SOCKET;
    c2->cmsg_type = SCM_RIGHTS;
    c2->cmsg_len = CMSG_LEN(3 * sizeof(int));
    memcpy(CMSG_DATA(c2), (int[]){p[0], p[0], p[1]}, 3 * sizeof(int));
    m.msg_controllen = CMSG_SPACE(2 * sizeof(int)) + CMSG_SPACE(3 * sizeof(int));
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    int n = recv_fds("two SCM_RIGHTS messages", sv[1], 256, 0, got, 300);
    close_all(got, n);
    int many[260];
    for (int i = 0; i < 260; i++)
        many[i] = p[0];
    c->cmsg_len = CMSG_LEN(200 * sizeof(int));
    memcpy(CMSG_DATA(c), many, 200 * sizeof(int));
    c2 = (struct cmsghdr *)(cb.b + CMSG_SPACE(200 * sizeof(int)));
    c2->cmsg_level = SOL_SOCKET;
    c2->cmsg_type = SCM_RIGHTS;
    c2->cmsg_len = CMSG_LEN(54 * sizeof(int));
    memcpy(CMSG_DATA(c2), many, 54 * sizeof(int));
    m.msg_controllen = CMSG_SPACE(200 * sizeof(int)) + CMSG_SPACE(54 * sizeof(int));
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    /* Malformed. */
    c->cmsg_type = SCM_RIGHTS;
    m.msg_controllen = 8; /* shorter than a header: no control messages */
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    m.msg_controllen = 16;
    c->cmsg_len = 8;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_len = 17;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_len = 16; /* no descriptors */
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    m.msg_controllen = 24;
    c->cmsg_len = 18; /* half a descriptor: none */
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    c->cmsg_len = 20;
    c->cmsg_level = 0; /* not SOL_SOCKET: ignored */
    CHECK(sendmsg(sv[0], &m, 0) == 1);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 77;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_type = SCM_CREDENTIALS; /* wrong length */
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    for (int i = 0; i < 4; i++)
        n = recv_fds("plain", sv[1], 64, 0, got, 300);
    n = recv_fds("nothing left", sv[1], 64, 0, got, 300);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* A stream read stops after the data that came with descriptors. */
static void stream_boundaries(void) {
    printf("== stream boundaries\n");
    int sv[2], p[2], got[8];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(pipe(p) == 0);
    baseline = open_fds();
    CHECK(send(sv[0], "ab", 2, 0) == 2);
    CHECK(send_fds(sv[0], &p[0], 1, "cd", 2) == 2);
    CHECK(send(sv[0], "ef", 2, 0) == 2);
    CHECK(send_fds(sv[0], &p[1], 1, "gh", 2) == 2);
    int n = recv_fds("first read", sv[1], 64, 0, got, 8);
    close_all(got, n);
    n = recv_fds("second read", sv[1], 64, 0, got, 8);
    close_all(got, n);
    n = recv_fds("third read", sv[1], 64, 0, got, 8);
    /* A short read takes the descriptors with the first byte of their data. */
    CHECK(send_fds(sv[0], &p[0], 1, "ijkl", 4) == 4);
    char one;
    struct iovec io = {&one, 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    m.msg_control = cb.b;
    m.msg_controllen = 64;
    CHECK(recvmsg(sv[1], &m, 0) == 1);
    printf("one byte of four: got SCM_RIGHTS %d\n", CMSG_FIRSTHDR(&m) != NULL && m.msg_controllen > 0);
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
    close(fd);
    n = recv_fds("the rest", sv[1], 64, 0, got, 8);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* A socket in flight stays alive after its sender closes it. */
static void socket_in_flight(void) {
    printf("== a socket in flight\n");
    int carrier[2], pair[2], got[4];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, carrier) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    baseline = open_fds();
    CHECK(send_fds(carrier[0], &pair[1], 1, NULL, 0) == 1);
    close(pair[1]);
    CHECK(write(pair[0], "still there", 11) == 11);
    /* Any release of an AF_UNIX socket runs the collector: this one is reachable. */
    close(socket(AF_UNIX, SOCK_DGRAM, 0));
    int n = recv_fds("the passed socket", carrier[1], 64, 0, got, 4);
    char b[16] = {0};
    CHECK(n == 1 && read(got[0], b, sizeof b) == 11);
    printf("read through it: '%s'\n", b);
    close(got[0]);
    char z;
    printf("its peer then reads %zd\n", read(pair[0], &z, 1));
    /* A socket sent over itself and closed unread. */
    int self[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, self) == 0);
    CHECK(send_fds(self[0], &self[1], 1, NULL, 0) == 1);
    CHECK(send_fds(self[1], &self[0], 1, NULL, 0) == 1);
    close(self[0]);
    close(self[1]);
    /* Unreachable sockets are collected (unix_gc) after the next release: their peers
     * then see the end. One socket holding itself, and two holding each other. */
    struct timeval tv = {10, 0};
    int types[2] = {SOCK_STREAM, SOCK_SEQPACKET};
    for (int t = 0; t < 2; t++) {
        int a[2], b[2];
        CHECK(socketpair(AF_UNIX, types[t], 0, a) == 0);
        CHECK(setsockopt(a[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
        CHECK(send_fds(a[0], &a[1], 1, NULL, 0) == 1);
        close(a[1]);
        close(socket(AF_UNIX, SOCK_DGRAM, 0));
        errno = 0;
        ssize_t r = read(a[0], &z, 1);
        printf("peer of a socket holding only itself reads %zd %s\n", r, r < 0 ? errname(errno) : "");
        close(a[0]);
        CHECK(socketpair(AF_UNIX, types[t], 0, a) == 0);
        CHECK(socketpair(AF_UNIX, types[t], 0, b) == 0);
        CHECK(setsockopt(a[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
        CHECK(setsockopt(b[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
        CHECK(send_fds(a[0], &b[1], 1, NULL, 0) == 1);
        CHECK(send_fds(b[0], &a[1], 1, NULL, 0) == 1);
        close(a[1]);
        close(b[1]);
        close(socket(AF_UNIX, SOCK_DGRAM, 0));
        errno = 0;
        r = read(a[0], &z, 1);
        ssize_t r2 = read(b[0], &z, 1);
        printf("peers of two sockets holding each other read %zd and %zd\n", r, r2);
        close(a[0]);
        close(b[0]);
    }
    close(pair[0]);
    close(carrier[0]);
    close(carrier[1]);
}

int main(void) {
    basics(SOCK_STREAM, "stream");
    basics(SOCK_DGRAM, "dgram");
    basics(SOCK_SEQPACKET, "seqpacket");
    control_messages();
    stream_boundaries();
    socket_in_flight();
    return finish();
}
