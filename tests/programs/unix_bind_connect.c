/* AF_UNIX names: bind(2) to a path (an S_IFSOCK node that follows the umask;
 * EADDRINUSE when the name exists; the binding follows the inode through a
 * rename and is gone once unlinked), to abstract names (exact lengths, one
 * namespace per socket type) and autobind; getsockname/getpeername lengths;
 * listen(2) and its backlog (EAGAIN for a nonblocking connect to a full one);
 * accept/accept4 flags and addresses; connect(2) errors (ECONNREFUSED,
 * ENOENT, EPROTOTYPE, EISCONN); datagram sendto by name, sender addresses,
 * the receive queue limit, EPERM and AF_UNSPEC; a listener closed with a
 * pending connection. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define OFF offsetof(struct sockaddr_un, sun_path)

static struct sockaddr_un path_addr(const char *p) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(p);
    memcpy(a.sun_path, p, n < sizeof a.sun_path ? n : sizeof a.sun_path);
    return a;
}

static int bind_path(int s, const char *p) {
    struct sockaddr_un a = path_addr(p);
    return bind(s, (struct sockaddr *)&a, sizeof a);
}

static int connect_path(int s, const char *p) {
    struct sockaddr_un a = path_addr(p);
    return connect(s, (struct sockaddr *)&a, sizeof a);
}

/* An abstract address: NUL, then `name` (len bytes). */
static socklen_t abstract(struct sockaddr_un *a, const char *name, size_t len) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, len);
    return OFF + 1 + len;
}

static void show_name(const char *what, int s, int peer) {
    struct sockaddr_un a;
    memset(&a, 0x55, sizeof a);
    socklen_t l = sizeof a;
    int r = peer ? getpeername(s, (struct sockaddr *)&a, &l) : getsockname(s, (struct sockaddr *)&a, &l);
    if (r != 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    if (l <= OFF)
        printf("%s: len %d (unnamed)\n", what, (int)l);
    else if (a.sun_path[0])
        printf("%s: len %d path '%s'\n", what, (int)l, a.sun_path);
    else
        printf("%s: len %d abstract\n", what, (int)l);
}

static const char *files[] = {"sock", "file", "other", "moved", "dgsock", "dgsend", "dgpeer", "sock2", "sock3", "abs"};

static void cleanup(void) {
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    char longname[109];
    memset(longname, 'n', 108);
    longname[108] = 0;
    unlink(longname);
}

static void paths(void) {
    umask(022);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind_path(s, "sock") == 0);
    show_name("bound to sock", s, 0);
    struct stat st;
    CHECK(lstat("sock", &st) == 0);
    printf("sock: S_ISSOCK %d mode %o size %ld\n", S_ISSOCK(st.st_mode), st.st_mode & 07777, (long)st.st_size);
    EXPECT_ERRNO(open("sock", O_RDONLY), ENXIO);
    int fd = open("sock", O_PATH);
    CHECK(fd >= 0);
    EXPECT_ERRNO(listen(fd, 1), EBADF); /* socket calls ignore O_PATH descriptors */
    close(fd);
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(bind_path(t, "sock"), EADDRINUSE);
    close(open("file", O_CREAT | O_WRONLY, 0644));
    EXPECT_ERRNO(bind_path(t, "file"), EADDRINUSE);
    EXPECT_ERRNO(bind_path(t, "nodir/x"), ENOENT);
    EXPECT_ERRNO(bind_path(t, "file/x"), ENOTDIR);
    /* Already bound: EINVAL, and no node is left behind. */
    EXPECT_ERRNO(bind_path(s, "other"), EINVAL);
    EXPECT_ERRNO(access("other", F_OK), ENOENT);
    struct sockaddr_un a = path_addr("x");
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, 0), EINVAL);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, 1), EINVAL);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, 129), EINVAL);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, -1), EINVAL);
    EXPECT_ERRNO(bind(t, NULL, sizeof a), EFAULT);
    a.sun_family = AF_INET;
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, sizeof a), EINVAL);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, OFF), EINVAL);
    /* The length cuts the path: "sock2" given 4 bytes of path is "sock". */
    a = path_addr("sock2");
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, OFF + 4), EADDRINUSE);
    CHECK(bind(t, (struct sockaddr *)&a, OFF + 5) == 0);
    show_name("bound to sock2 without its NUL", t, 0);
    close(t);
    /* A path filling all 108 bytes, without a NUL. */
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    memset(a.sun_path, 'n', sizeof a.sun_path);
    a.sun_family = AF_UNIX;
    CHECK(bind(u, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t l = sizeof a + 8;
    char big[sizeof a + 8];
    CHECK(getsockname(u, (struct sockaddr *)big, &l) == 0);
    printf("108-byte path: getsockname len %d\n", (int)l);
    close(u);
    /* Short buffers get a prefix and the full length. */
    char three[4] = {9, 9, 9, 9};
    l = 3;
    CHECK(getsockname(s, (struct sockaddr *)three, &l) == 0);
    printf("getsockname into 3 bytes: len %d bytes %d %d %d %d\n", (int)l, three[0], three[1], three[2], three[3]);
    l = (socklen_t)-1;
    EXPECT_ERRNO(getsockname(s, (struct sockaddr *)three, &l), EINVAL);
    EXPECT_ERRNO(getsockname(s, (struct sockaddr *)three, NULL), EFAULT);
    show_name("getpeername unconnected", s, 1);

    /* Connecting. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect_path(c, "sock"), ECONNREFUSED); /* not listening */
    EXPECT_ERRNO(connect_path(c, "file"), ECONNREFUSED); /* not a socket */
    EXPECT_ERRNO(connect_path(c, "nothing"), ENOENT);
    EXPECT_ERRNO(connect_path(c, "file/x"), ENOTDIR);
    EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, OFF), EINVAL);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERRNO(listen(d, 1), EOPNOTSUPP);
    EXPECT_ERRNO(listen(c, 1), EINVAL); /* unbound */
    CHECK(listen(s, 1) == 0);
    printf("SO_ACCEPTCONN listening %d\n", ({int v = 0; socklen_t vl = 4; getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl); v;}));
    EXPECT_ERRNO(connect_path(d, "sock"), EPROTOTYPE);
    int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_ERRNO(connect_path(q, "sock"), EPROTOTYPE);
    close(q);
    struct pollfd p = {s, POLLIN | POLLOUT, 0};
    int np = poll(&p, 1, 0);
    printf("listener poll before connections: %d revents %#x\n", np, p.revents);
    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(connect_path(c1, "sock") == 0);
    CHECK(connect_path(c2, "sock") == 0);
    EXPECT_ERRNO(connect_path(c3, "sock"), EAGAIN); /* backlog 1: two fit */
    EXPECT_ERRNO(connect_path(c1, "sock"), EAGAIN); /* the full backlog is checked first */
    p.revents = 0;
    np = poll(&p, 1, 0);
    printf("listener poll with connections: %d revents %#x\n", np, p.revents);
    p.fd = c1;
    p.events = POLLIN | POLLOUT | POLLRDHUP;
    p.revents = 0;
    printf("connected, not yet accepted: revents %#x\n", (poll(&p, 1, 0), p.revents));
    CHECK(write(c1, "before accept", 13) == 13);
    show_name("client's peer", c1, 1);
    show_name("client's name", c1, 0);
    struct sockaddr_un from;
    memset(&from, 0x55, sizeof from);
    l = sizeof from;
    int a1 = accept4(s, (struct sockaddr *)&from, &l, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK(a1 >= 0);
    printf("accept4: addr len %d family %d, FD_CLOEXEC %d O_NONBLOCK %d\n", (int)l, from.sun_family,
           fcntl(a1, F_GETFD) == FD_CLOEXEC, !!(fcntl(a1, F_GETFL) & O_NONBLOCK));
    show_name("accepted socket's name", a1, 0);
    show_name("accepted socket's peer", a1, 1);
    char buf[64] = {0};
    printf("accepted reads %zd '%s'\n", read(a1, buf, sizeof buf), buf);
    CHECK(connect_path(c3, "sock") == 0); /* room again */
    int a2 = accept(s, NULL, NULL);
    CHECK(a2 >= 0);
    printf("accept without address: FD_CLOEXEC %d O_NONBLOCK %d\n", fcntl(a2, F_GETFD) == FD_CLOEXEC,
           !!(fcntl(a2, F_GETFL) & O_NONBLOCK));
    l = sizeof from;
    EXPECT_ERRNO(accept(s, (struct sockaddr *)&from, NULL), EFAULT); /* and c3's connection is gone */
    fcntl(s, F_SETFL, O_NONBLOCK);
    EXPECT_ERRNO(accept(s, NULL, NULL), EAGAIN);
    EXPECT_ERRNO(accept(c1, NULL, NULL), EINVAL);
    EXPECT_ERRNO(accept(d, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERRNO(accept4(s, NULL, NULL, 0x100), EINVAL);
    EXPECT_ERRNO(connect_path(c1, "sock"), EISCONN);
    EXPECT_ERRNO(listen(c1, 1), EINVAL);
    EXPECT_ERRNO(connect_path(s, "sock"), EINVAL); /* a listener cannot connect */
    /* The connection lost by that accept ends like a closed peer (nothing unread). */
    char r3;
    printf("c3 reads %zd\n", read(c3, &r3, 1));
    /* The binding follows the inode: renamed, it is reached by the new name. */
    CHECK(rename("sock", "moved") == 0);
    int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect_path(c4, "sock"), ENOENT);
    CHECK(connect_path(c4, "moved") == 0);
    show_name("listener after rename", s, 0);
    /* Unlinked, nobody reaches it; the name can be bound again. */
    CHECK(unlink("moved") == 0);
    int c5 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect_path(c5, "moved"), ENOENT);
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind_path(s2, "moved") == 0 && listen(s2, -1) == 0);
    CHECK(connect_path(c5, "moved") == 0);
    /* Closing a listener resets its unaccepted connections. */
    close(s2);
    char z;
    EXPECT_ERRNO(recv(c5, &z, 1, 0), ECONNRESET);
    printf("after the reset: recv %zd\n", recv(c5, &z, 1, 0));
    int c6 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect_path(c6, "moved"), ECONNREFUSED); /* the node stays */
    /* An absolute path. */
    char cwd[200], abs[300];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(abs, sizeof abs, "%s/abs", cwd);
    if (strlen(abs) < sizeof a.sun_path) {
        int s3 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        CHECK(bind_path(s3, abs) == 0 && listen(s3, 0) == 0);
        struct sockaddr_un got;
        l = sizeof got;
        CHECK(getsockname(s3, (struct sockaddr *)&got, &l) == 0);
        printf("absolute path: len is strlen + 3: %d, same path %d\n", (int)l == (int)strlen(abs) + 3,
               strcmp(got.sun_path, abs) == 0);
        int c7 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
        CHECK(connect_path(c7, "abs") == 0);
        close(c7);
        close(s3);
    }
    int fds[] = {s, c, d, c1, c2, c3, c4, c5, c6, a1, a2};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
}

static void abstracts(void) {
    char name[64];
    int n = snprintf(name, sizeof name, "runsc-unix-test-%d", (int)getpid());
    struct sockaddr_un a, got;
    socklen_t al = abstract(&a, name, n);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&a, al) == 0);
    socklen_t l = sizeof got;
    CHECK(getsockname(s, (struct sockaddr *)&got, &l) == 0);
    printf("abstract: len is given len %d, bytes equal %d\n", l == al, memcmp(&got, &a, al) == 0);
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(bind(t, (struct sockaddr *)&a, al), EADDRINUSE);
    /* A longer length is another name (the NULs count). */
    CHECK(bind(t, (struct sockaddr *)&a, al + 1) == 0);
    close(t);
    /* Each type has its own abstract names. */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(d, (struct sockaddr *)&a, al) == 0);
    int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_ERRNO(connect(q, (struct sockaddr *)&a, al), ECONNREFUSED);
    close(q);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, al), ECONNREFUSED);
    CHECK(listen(s, 5) == 0);
    CHECK(connect(c, (struct sockaddr *)&a, al) == 0);
    l = sizeof got;
    CHECK(getpeername(c, (struct sockaddr *)&got, &l) == 0 && l == al && memcmp(&got, &a, al) == 0);
    int acc = accept(s, NULL, NULL);
    l = sizeof got;
    CHECK(getsockname(acc, (struct sockaddr *)&got, &l) == 0 && l == al && memcmp(&got, &a, al) == 0);
    close(acc);
    close(c);
    /* The bare NUL is a name too. */
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un nul;
    memset(&nul, 0, sizeof nul);
    nul.sun_family = AF_UNIX;
    CHECK(bind(e, (struct sockaddr *)&nul, OFF + 1) == 0 || errno == EADDRINUSE);
    close(e);
    /* Autobind: NUL and five hex digits. */
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam;
    memset(&fam, 0, sizeof fam);
    fam.sun_family = AF_UNIX;
    CHECK(bind(u, (struct sockaddr *)&fam, OFF) == 0);
    l = sizeof got;
    CHECK(getsockname(u, (struct sockaddr *)&got, &l) == 0);
    int hex = 1;
    for (int i = 1; i <= 5; i++)
        hex &= (got.sun_path[i] >= '0' && got.sun_path[i] <= '9') || (got.sun_path[i] >= 'a' && got.sun_path[i] <= 'f');
    printf("autobind: len %d, leading NUL %d, five hex digits %d\n", (int)l, got.sun_path[0] == 0, hex);
    struct sockaddr_un again;
    CHECK(bind(u, (struct sockaddr *)&fam, OFF) == 0);
    l = sizeof again;
    CHECK(getsockname(u, (struct sockaddr *)&again, &l) == 0);
    printf("autobind again keeps the name: %d\n", memcmp(&again, &got, 8) == 0);
    EXPECT_ERRNO(bind(u, (struct sockaddr *)&a, al), EINVAL);
    /* The autobound name can be reached. */
    int v = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(sendto(v, "to-auto", 7, 0, (struct sockaddr *)&got, 8) == 7);
    char buf[16] = {0};
    CHECK(recv(u, buf, sizeof buf, 0) == 7);
    /* SO_PASSCRED makes connect and send autobind. */
    int one = 1;
    int w = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(setsockopt(w, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    show_name("SO_PASSCRED, before connect", w, 0);
    CHECK(connect(w, (struct sockaddr *)&got, 8) == 0);
    show_name("SO_PASSCRED, after connect", w, 0);
    close(w);
    int x = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(setsockopt(x, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    CHECK(sendto(x, "y", 1, 0, (struct sockaddr *)&got, 8) == 1);
    show_name("SO_PASSCRED, after sendto", x, 0);
    close(x);
    close(u);
    close(v);
    close(d);
    close(s);
    /* Once closed, the name is free. */
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s2, (struct sockaddr *)&a, al) == 0);
    close(s2);
}

static void datagrams(void) {
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind_path(r, "dgsock") == 0);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un to = path_addr("dgsock"), from;
    CHECK(sendto(s, "anon", 4, 0, (struct sockaddr *)&to, sizeof to) == 4);
    char buf[32] = {0};
    socklen_t l = sizeof from;
    memset(&from, 0x55, sizeof from);
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &l);
    printf("from an unbound sender: %zd bytes, addrlen %d\n", n, (int)l);
    CHECK(bind_path(s, "dgsend") == 0);
    CHECK(sendto(s, "named", 5, 0, (struct sockaddr *)&to, sizeof to) == 5);
    l = sizeof from;
    n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &l);
    printf("from a bound sender: %zd bytes, addrlen %d path '%s'\n", n, (int)l, from.sun_path);
    EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
    EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "nothing"}, sizeof to), ENOENT);
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind_path(st, "sock3") == 0);
    EXPECT_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "sock3"}, sizeof to), EPROTOTYPE);
    close(st);
    /* The receive queue of a socket not connected back takes max_dgram_qlen + 1. */
    int sent = 0;
    while (sendto(s, "q", 1, 0, (struct sockaddr *)&to, sizeof to) == 1)
        sent++;
    int e = errno;
    struct pollfd p = {s, POLLOUT, 0};
    poll(&p, 1, 0);
    printf("queue limit: %d sent, then %s\n", sent, errname(e));
    CHECK(connect(s, (struct sockaddr *)&to, sizeof to) == 0);
    p.revents = 0;
    poll(&p, 1, 0);
    printf("connected to the full receiver: POLLOUT %d\n", !!(p.revents & POLLOUT));
    CHECK(recv(r, buf, sizeof buf, 0) == 1);
    p.revents = 0;
    poll(&p, 1, 0);
    printf("after one is read: POLLOUT %d\n", !!(p.revents & POLLOUT));
    while (recv(r, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    CHECK(send(s, "conn", 4, 0) == 4);
    CHECK(recv(r, buf, sizeof buf, 0) == 4);
    show_name("connected dgram's peer", s, 1);
    /* A receiver connected elsewhere refuses others. */
    int other = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind_path(other, "dgpeer") == 0);
    CHECK(connect_path(r, "dgpeer") == 0);
    EXPECT_ERRNO(send(s, "x", 1, 0), EPERM);
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERRNO(connect_path(third, "dgsock"), EPERM);
    CHECK(connect_path(r, "dgsend") == 0);
    CHECK(send(s, "back", 4, 0) == 4);
    /* AF_UNSPEC disconnects. */
    struct sockaddr unspec = {AF_UNSPEC, {0}};
    CHECK(connect(s, &unspec, sizeof unspec) == 0);
    EXPECT_ERRNO(send(s, "x", 1, 0), ENOTCONN);
    show_name("after AF_UNSPEC", s, 1);
    EXPECT_ERRNO(connect(s, &unspec, 1), EINVAL);
    close(third);
    close(other);
    close(s);
    close(r);
}

int main(void) {
    cleanup();
    paths();
    abstracts();
    datagrams();
    cleanup();
    return finish();
}
