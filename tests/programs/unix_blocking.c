/* Blocking AF_UNIX calls and signals: recv, accept, connect (full backlog) and
 * send (full buffer) interrupted by a handler fail with EINTR without
 * SA_RESTART and are restarted with it; with SO_RCVTIMEO/SO_SNDTIMEO set an
 * interrupted call is not restarted (EINTR) and a timeout gives EAGAIN; a call
 * that moved some data returns that much; a writer blocked on a full buffer
 * resumes as the reader drains; MSG_WAITALL waits for the whole length. A
 * helper process signals only once the caller sleeps (state S in
 * /proc/PID/stat). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

static volatile int hits;
static void handler(int sig) {
    (void)sig;
    hits++;
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

static void install(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
    hits = 0;
}

enum { NOTHING, WRITE, CONNECT, ACCEPT, DRAIN };

/* Forks a helper: once we sleep it sends SIGUSR1 (if sig), then, once we sleep
 * again, does `then` with fd. */
static pid_t helper(int sig, int then, int fd) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        wait_sleeping(parent);
        if (sig)
            kill(parent, sig);
        usleep(2000);
        wait_sleeping(parent);
        if (then == WRITE) {
            if (write(fd, "data", 4) != 4)
                _exit(1);
        } else if (then == CONNECT) {
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)))
                _exit(2);
        } else if (then == ACCEPT) {
            if (accept(fd, NULL, NULL) < 0)
                _exit(3);
        } else if (then == DRAIN) {
            static char buf[65536];
            fcntl(fd, F_SETFL, O_NONBLOCK);
            while (read(fd, buf, sizeof buf) > 0)
                ;
        }
        _exit(0);
    }
    return c;
}

static void reap(pid_t c) {
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const char *outcome(ssize_t r, ssize_t want) {
    if (r == want)
        return "completed";
    return r < 0 ? errname(errno) : "short";
}

static void set_timeo(int fd, int opt, long ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0);
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void case_recv(int type, const char *what, int flags, long timeo) {
    install(flags);
    int sv[2];
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    if (timeo)
        set_timeo(sv[0], SO_RCVTIMEO, timeo);
    pid_t h = helper(SIGUSR1, (flags & SA_RESTART) && !timeo ? WRITE : NOTHING, sv[1]);
    char b[8];
    ssize_t r = recv(sv[0], b, sizeof b, 0);
    printf("recv (%s), %s: %s, handler ran %d\n", type == SOCK_STREAM ? "stream" : "dgram", what, outcome(r, 4), hits);
    reap(h);
    close(sv[0]);
    close(sv[1]);
}

static void case_accept(const char *what, int flags) {
    install(flags);
    unlink("blocksock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)) == 0);
    CHECK(listen(s, 1) == 0);
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? CONNECT : NOTHING, -1);
    int a = accept(s, NULL, NULL);
    printf("accept, %s: %s, handler ran %d\n", what, a >= 0 ? "completed" : errname(errno), hits);
    reap(h);
    if (a >= 0)
        close(a);
    close(s);
    unlink("blocksock");
}

static void case_connect(const char *what, int flags) {
    install(flags);
    unlink("blocksock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)) == 0);
    CHECK(listen(s, 0) == 0);
    int first = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(first, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)) == 0);
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? ACCEPT : NOTHING, s);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un));
    printf("connect to a full backlog, %s: %s, handler ran %d\n", what, r == 0 ? "completed" : errname(errno), hits);
    reap(h);
    close(c);
    close(first);
    close(s);
    unlink("blocksock");
}

/* A socketpair whose sv[0] cannot take another byte. */
static void full_pair(int type, int sv[2]) {
    CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
    int small = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    while (write(sv[0], "fill", 4) > 0)
        ;
    fcntl(sv[0], F_SETFL, 0);
}

static void case_send(int type, const char *what, int flags, long timeo) {
    install(flags);
    int sv[2];
    full_pair(type, sv);
    if (timeo)
        set_timeo(sv[0], SO_SNDTIMEO, timeo);
    pid_t h = helper(SIGUSR1, (flags & SA_RESTART) && !timeo ? DRAIN : NOTHING, sv[1]);
    ssize_t r = send(sv[0], "more", 4, 0);
    printf("send to a full %s, %s: %s, handler ran %d\n", type == SOCK_STREAM ? "stream" : "seqpacket", what,
           outcome(r, 4), hits);
    reap(h);
    close(sv[0]);
    close(sv[1]);
}

static void timeouts(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    struct timeval tv = {0, 0};
    socklen_t l = sizeof tv;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0);
    printf("SO_RCVTIMEO default: %ld.%06ld len %d\n", (long)tv.tv_sec, (long)tv.tv_usec, (int)l);
    set_timeo(sv[0], SO_RCVTIMEO, 200);
    l = sizeof tv;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0);
    printf("SO_RCVTIMEO set 0.2s: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    long t0 = now_ms();
    char b[4];
    ssize_t r = recv(sv[0], b, sizeof b, 0);
    long took = now_ms() - t0;
    printf("recv with a 0.2s timeout: %s after at least 0.15s: %d\n", r < 0 ? errname(errno) : "data", took >= 150);
    tv.tv_sec = 0;
    tv.tv_usec = 1000000;
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    tv.tv_usec = -1;
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    EXPECT_ERRNO(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, 8), EINVAL);
    /* A negative time: do not wait at all. */
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    l = sizeof tv;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0);
    printf("negative SO_RCVTIMEO reads back as %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    EXPECT_ERRNO(recv(sv[0], b, sizeof b, 0), EAGAIN);
    set_timeo(sv[0], SO_SNDTIMEO, 1500);
    l = sizeof tv;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0);
    printf("SO_SNDTIMEO set 1.5s: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    close(sv[0]);
    close(sv[1]);
    /* Timeouts of the other blocking calls. */
    full_pair(SOCK_STREAM, sv);
    set_timeo(sv[0], SO_SNDTIMEO, 100);
    EXPECT_ERRNO(send(sv[0], "x", 1, 0), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    unlink("blocksock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)) == 0);
    CHECK(listen(s, 0) == 0);
    set_timeo(s, SO_RCVTIMEO, 100);
    EXPECT_ERRNO(accept(s, NULL, NULL), EAGAIN);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c1, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)) == 0);
    set_timeo(c2, SO_SNDTIMEO, 100);
    EXPECT_ERRNO(connect(c2, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "blocksock"}, sizeof(struct sockaddr_un)),
                 EAGAIN);
    close(c1);
    close(c2);
    close(s);
    unlink("blocksock");
}

/* Calls that moved some data before the signal return what they moved. */
static void partial(void) {
    install(SA_RESTART);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(write(sv[1], "abc", 3) == 3);
    pid_t h = helper(SIGUSR1, NOTHING, -1);
    char b[16];
    ssize_t r = recv(sv[0], b, 10, MSG_WAITALL);
    printf("MSG_WAITALL for 10 with 3 there, interrupted: %zd, handler ran %d\n", r, hits);
    reap(h);
    close(sv[0]);
    close(sv[1]);

    install(SA_RESTART);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int sz = 50000;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) == 0);
    static char big[400000];
    h = helper(SIGUSR1, NOTHING, -1);
    r = write(sv[0], big, sizeof big);
    printf("write of 400000 into a 100000-byte buffer, interrupted: partial %d, handler ran %d\n",
           r > 0 && r < (ssize_t)sizeof big, hits);
    reap(h);
    close(sv[0]);
    close(sv[1]);
}

/* A writer blocked on a full buffer resumes as the reader drains; MSG_WAITALL
 * collects several writes. */
static void flow(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    static char big[1 << 20];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        close(sv[0]);
        static char in[1 << 20];
        size_t got = 0;
        while (got < sizeof in) {
            ssize_t n = read(sv[1], in + got, 4096);
            if (n <= 0)
                _exit(1);
            got += n;
        }
        _exit(memcmp(in, big, sizeof in) == 0 ? 0 : 2);
    }
    close(sv[1]);
    ssize_t w = write(sv[0], big, sizeof big);
    printf("1 MiB through a stream to a slow reader: wrote %zd\n", w);
    reap(kid);
    close(sv[0]);

    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        const char *parts[3] = {"one", "two", "four"};
        for (int i = 0; i < 3; i++) {
            wait_sleeping(getppid());
            if (write(sv[1], parts[i], strlen(parts[i])) < 0)
                _exit(1);
            usleep(2000);
        }
        _exit(0);
    }
    char b[16] = {0};
    ssize_t r = recv(sv[0], b, 10, MSG_WAITALL);
    printf("MSG_WAITALL for 10 over three writes: %zd '%s'\n", r, b);
    reap(kid);
    close(sv[0]);
    close(sv[1]);
}

/* Start from default signal dispositions and an empty mask. */
static void default_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(void) {
    default_signals();
    case_recv(SOCK_STREAM, "no SA_RESTART", 0, 0);
    case_recv(SOCK_STREAM, "SA_RESTART", SA_RESTART, 0);
    case_recv(SOCK_STREAM, "SA_RESTART and SO_RCVTIMEO", SA_RESTART, 5000);
    case_recv(SOCK_DGRAM, "no SA_RESTART", 0, 0);
    case_recv(SOCK_DGRAM, "SA_RESTART", SA_RESTART, 0);
    case_recv(SOCK_DGRAM, "SA_RESTART and SO_RCVTIMEO", SA_RESTART, 5000);
    case_accept("no SA_RESTART", 0);
    case_accept("SA_RESTART", SA_RESTART);
    case_connect("no SA_RESTART", 0);
    case_connect("SA_RESTART", SA_RESTART);
    case_send(SOCK_STREAM, "no SA_RESTART", 0, 0);
    case_send(SOCK_STREAM, "SA_RESTART", SA_RESTART, 0);
    case_send(SOCK_STREAM, "SA_RESTART and SO_SNDTIMEO", SA_RESTART, 5000);
    case_send(SOCK_SEQPACKET, "no SA_RESTART", 0, 0);
    case_send(SOCK_SEQPACKET, "SA_RESTART", SA_RESTART, 0);
    timeouts();
    partial();
    flow();
    return finish();
}
