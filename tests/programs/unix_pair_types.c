/* socketpair(2) of each AF_UNIX type: a stream glues and splits what was
 * written, datagram and seqpacket sockets keep message boundaries (MSG_TRUNC in
 * msg_flags, the real length with the MSG_TRUNC flag, zero-length messages);
 * MSG_PEEK, MSG_DONTWAIT, readv/writev, sendmmsg/recvmmsg, FIONREAD; what
 * fstat, fcntl and /proc/self/fd show; the SOL_SOCKET options that describe
 * the socket; how many nonblocking writes fill a pair with a given SO_SNDBUF
 * and when POLLOUT comes back; argument errors of socket(2) and friends. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <sys/un.h>

static const char *tname(int t) {
    return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "dgram" : "seqpacket";
}

static int getint(int fd, int opt) {
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) != 0 || l != sizeof v)
        return -999;
    return v;
}

static void describe(int type) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    int fl = fcntl(sv[0], F_GETFL);
    printf("%s: O_RDWR %d O_NONBLOCK %d FD_CLOEXEC %d\n", tname(type), (fl & O_ACCMODE) == O_RDWR,
           !!(fl & O_NONBLOCK), fcntl(sv[0], F_GETFD) == FD_CLOEXEC);
    struct stat st;
    CHECK(fstat(sv[0], &st) == 0);
    printf("%s: S_ISSOCK %d mode %o nlink %ld size %ld\n", tname(type), S_ISSOCK(st.st_mode),
           st.st_mode & 07777, (long)st.st_nlink, (long)st.st_size);
    struct statfs sf;
    CHECK(fstatfs(sv[0], &sf) == 0);
    printf("%s: fstatfs f_type is SOCKFS_MAGIC %d\n", tname(type), sf.f_type == 0x534F434B);
    struct stat st1;
    CHECK(fstat(sv[1], &st1) == 0 && st1.st_ino != st.st_ino && st1.st_dev == st.st_dev);
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    printf("%s: /proc/self/fd link is socket:[st_ino]: %d\n", tname(type), strcmp(link, want) == 0);
    EXPECT_ERRNO(open(path, O_RDWR), ENXIO);
    printf("%s: SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ACCEPTCONN %d SO_ERROR %d SO_PASSCRED %d\n",
           tname(type), getint(sv[0], SO_TYPE) == type, getint(sv[0], SO_DOMAIN) == AF_UNIX,
           getint(sv[0], SO_PROTOCOL), getint(sv[0], SO_ACCEPTCONN), getint(sv[0], SO_ERROR),
           getint(sv[0], SO_PASSCRED));
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    CHECK(getsockname(sv[0], (struct sockaddr *)&a, &al) == 0);
    printf("%s: getsockname len %d family %d\n", tname(type), (int)al, a.sun_family);
    al = sizeof a;
    CHECK(getpeername(sv[0], (struct sockaddr *)&a, &al) == 0);
    printf("%s: getpeername len %d\n", tname(type), (int)al);
    struct pollfd p = {sv[0], POLLIN | POLLOUT | POLLRDHUP, 0};
    CHECK(poll(&p, 1, 0) == 1);
    printf("%s: fresh revents %#x\n", tname(type), p.revents);
    close(sv[0]);
    close(sv[1]);
}

static void data(int type) {
    int sv[2];
    char b[64];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    CHECK(send(sv[0], "hello", 5, 0) == 5);
    CHECK(write(sv[0], "world!", 6) == 6);
    CHECK(send(sv[0], "", 0, 0) == 0);
    int q = -1;
    CHECK(ioctl(sv[1], FIONREAD, &q) == 0);
    printf("%s: FIONREAD %d\n", tname(type), q);
    memset(b, 0, sizeof b);
    printf("%s: peek 3 -> %zd", tname(type), recv(sv[1], b, 3, MSG_PEEK));
    printf(" '%s'\n", b);
    printf("%s: peek|trunc 3 -> %zd\n", tname(type), recv(sv[1], b, 3, MSG_PEEK | MSG_TRUNC));
    struct iovec io = {b, 4};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1;
    memset(b, 0, sizeof b);
    ssize_t r = recvmsg(sv[1], &m, 0);
    printf("%s: recvmsg 4 -> %zd '%s' MSG_TRUNC %d\n", tname(type), r, b, !!(m.msg_flags & MSG_TRUNC));
    memset(b, 0, sizeof b);
    io.iov_len = 3;
    m.msg_flags = 0;
    r = recvmsg(sv[1], &m, MSG_TRUNC);
    printf("%s: recvmsg 3 with MSG_TRUNC -> %zd '%s' MSG_TRUNC %d\n", tname(type), r, b,
           !!(m.msg_flags & MSG_TRUNC));
    memset(b, 0, sizeof b);
    r = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    printf("%s: next -> %zd '%s'\n", tname(type), r, b);
    r = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    printf("%s: then -> %zd %s\n", tname(type), r, r < 0 ? errname(errno) : "");
    /* writev is one message; readv scatters it. */
    struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    CHECK(writev(sv[0], w, 3) == 6);
    char x[2] = {0}, y[8] = {0};
    struct iovec rv[2] = {{x, 1}, {y, 3}};
    r = readv(sv[1], rv, 2);
    printf("%s: readv -> %zd '%c' '%s'\n", tname(type), r, x[0], y);
    if (type == SOCK_STREAM)
        CHECK(recv(sv[1], b, sizeof b, MSG_DONTWAIT) == 2);
    /* sendmmsg/recvmmsg. */
    struct mmsghdr mm[5];
    struct iovec mi[5];
    char bufs[5][16];
    memset(mm, 0, sizeof mm);
    const char *words[3] = {"one", "three", "fifteen"};
    for (int i = 0; i < 3; i++) {
        mi[i].iov_base = (void *)words[i];
        mi[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    int k = sendmmsg(sv[0], mm, 3, 0);
    printf("%s: sendmmsg -> %d lens %u %u %u\n", tname(type), k, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 5; i++) {
        mi[i].iov_base = bufs[i];
        mi[i].iov_len = sizeof bufs[i];
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    k = recvmmsg(sv[1], mm, 5, MSG_DONTWAIT, NULL);
    printf("%s: recvmmsg -> %d", tname(type), k);
    for (int i = 0; i < k; i++)
        printf(" %u", mm[i].msg_len);
    printf("\n");
    /* The largest datagram is SO_SNDBUF - 32 bytes. */
    if (type != SOCK_STREAM) {
        int v = 32768;
        CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
        int sb = getint(sv[0], SO_SNDBUF);
        static char big[70000];
        ssize_t fits = send(sv[0], big, sb - 32, 0);
        errno = 0;
        ssize_t over = send(sv[0], big, sb - 31, 0);
        int e = errno;
        printf("%s: SO_SNDBUF %d; send %d -> %zd; send %d -> %zd %s\n", tname(type), sb, sb - 32, fits,
               sb - 31, over, errname(e));
        CHECK(recv(sv[1], big, sizeof big, MSG_TRUNC) == sb - 32);
    }
    close(sv[0]);
    close(sv[1]);
}

/* Nonblocking writes of `size` bytes until EAGAIN, with the writer's SO_SNDBUF set. */
static void fill(int type, int sndbuf, size_t size) {
    static char buf[300000];
    int sv[2];
    CHECK(socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
    long total = 0;
    int writes = 0;
    ssize_t r;
    while ((r = write(sv[0], buf, size)) > 0) {
        total += r;
        writes++;
    }
    int e = errno;
    struct pollfd p = {sv[0], POLLOUT, 0};
    poll(&p, 1, 0);
    int full_out = p.revents;
    /* Draining brings POLLOUT back. */
    while (read(sv[1], buf, sizeof buf) > 0)
        ;
    p.revents = 0;
    poll(&p, 1, 0);
    printf("%s SO_SNDBUF=%d x%zu: %d writes, %ld bytes, then %s; POLLOUT full %d drained %d\n", tname(type),
           getint(sv[0], SO_SNDBUF), size, writes, total, errname(e), !!(full_out & POLLOUT), !!(p.revents & POLLOUT));
    close(sv[0]);
    close(sv[1]);
}

static void errors(void) {
    int sv[2];
    EXPECT_ERRNO(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERRNO(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERRNO(socket(AF_UNIX, 0, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    EXPECT_ERRNO(socket(AF_UNIX, 11, 0), EINVAL);
    EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM | 0x100, 0), EINVAL);
    EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT);
    int s = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
    CHECK(s >= 0 && getint(s, SO_PROTOCOL) == 0);
    close(s);
    s = socket(AF_UNIX, SOCK_RAW, 0);
    printf("SOCK_RAW is SOCK_DGRAM: %d\n", getint(s, SO_TYPE) == SOCK_DGRAM);
    close(s);
    EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 0, NULL), EFAULT);
    EXPECT_ERRNO(socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv), EINVAL);
    int p[2];
    CHECK(pipe(p) == 0);
    char b[8];
    EXPECT_ERRNO(send(p[1], "x", 1, 0), ENOTSOCK);
    EXPECT_ERRNO(recv(p[0], b, 1, 0), ENOTSOCK);
    EXPECT_ERRNO(getsockopt(p[0], SOL_SOCKET, SO_TYPE, b, &(socklen_t){4}), ENOTSOCK);
    EXPECT_ERRNO(shutdown(p[0], SHUT_RD), ENOTSOCK);
    EXPECT_ERRNO(send(999, "x", 1, 0), EBADF);
    EXPECT_ERRNO(listen(-1, 1), EBADF);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    /* Hostile message headers. */
    struct iovec io = {"x", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &io;
    m.msg_iovlen = 1025;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EMSGSIZE);
    m.msg_iovlen = 1;
    m.msg_name = b;
    m.msg_namelen = -1;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    m.msg_name = NULL;
    io.iov_len = (size_t)-1;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
    io.iov_len = 1;
    m.msg_controllen = 24;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), EFAULT);
    m.msg_control = b;
    m.msg_controllen = 1 << 20;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), ENOBUFS);
    m.msg_controllen = (size_t)1 << 40;
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0), ENOBUFS);
    EXPECT_ERRNO(sendmsg(sv[0], (struct msghdr *)8, 0), EFAULT);
    EXPECT_ERRNO(recvmsg(sv[1], (struct msghdr *)8, 0), EFAULT);
    EXPECT_ERRNO(sendmsg(sv[0], &m, 0x80000000), EINVAL);
    EXPECT_ERRNO(send(sv[0], (void *)8, 10, 0), EFAULT);
    EXPECT_ERRNO(sendto(sv[0], "x", 1, 0, (struct sockaddr *)b, 129), EINVAL);
    EXPECT_ERRNO(sendto(sv[0], "x", 1, 0, (struct sockaddr *)8, 10), EFAULT);
    /* Options. */
    int v = 1;
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, 2), EINVAL);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, NULL, 4), EFAULT);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, -1), EINVAL);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, 4), ENOPROTOOPT);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, 9999, &v, 4), ENOPROTOOPT);
    EXPECT_ERRNO(setsockopt(sv[0], 6 /* IPPROTO_TCP */, 1, &v, 4), EOPNOTSUPP);
    socklen_t l = (socklen_t)-1;
    EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l), EINVAL);
    l = 4;
    EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
    EXPECT_ERRNO(getsockopt(sv[0], 6, 1, &v, &l), EOPNOTSUPP);
    EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, NULL, &l), EFAULT);
    EXPECT_ERRNO(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, NULL), EFAULT);
    v = -1;
    l = 2;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &l) == 0);
    printf("SO_TYPE into 2 bytes: len %d value %#x\n", (int)l, v);
    v = 10000;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
    printf("SO_SNDBUF 10000 -> %d\n", getint(sv[0], SO_SNDBUF));
    v = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
    printf("SO_SNDBUF 1 -> %d\n", getint(sv[0], SO_SNDBUF));
    v = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
    printf("SO_RCVBUF 1 -> %d\n", getint(sv[0], SO_RCVBUF));
    v = 5000;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
    printf("SO_RCVBUF 5000 -> %d\n", getint(sv[0], SO_RCVBUF));
    v = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) == 0);
    printf("SO_REUSEADDR %d SO_KEEPALIVE %d SO_RCVLOWAT %d SO_SNDLOWAT %d\n", getint(sv[0], SO_REUSEADDR),
           getint(sv[0], SO_KEEPALIVE), getint(sv[0], SO_RCVLOWAT), getint(sv[0], SO_SNDLOWAT));
    struct linger lg = {1, 5};
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    memset(&lg, 0, sizeof lg);
    l = sizeof lg;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, &l) == 0);
    printf("SO_LINGER %d %d len %d\n", lg.l_onoff, lg.l_linger, (int)l);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    for (int i = 0; i < 3; i++)
        describe(types[i]);
    for (int i = 0; i < 3; i++)
        data(types[i]);
    size_t sizes[4] = {1, 1000, 4096, 100000};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            if (types[i] != SOCK_STREAM && sizes[j] > 60000)
                continue;
            fill(types[i], 65536, sizes[j]);
        }
    fill(SOCK_STREAM, 4096, 1);
    fill(SOCK_STREAM, 100000, 1000000 / 4);
    errors();
    return finish();
}
