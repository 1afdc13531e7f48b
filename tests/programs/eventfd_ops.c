/* eventfd: the initial value is read and the counter resets; writes add up;
 * EFD_NONBLOCK gives EAGAIN on an empty read and on a write that would pass
 * 0xfffffffffffffffe; writing all ones is EINVAL; buffers under 8 bytes are
 * EINVAL; EFD_SEMAPHORE reads count down by one; poll shows POLLIN/POLLOUT;
 * a blocked read is woken by another thread's write and a blocked write by
 * another thread's read; a forked child shares the counter; fdinfo shows the
 * count; bad flags are EINVAL. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static int efd;
static void *late_write(void *a) {
    usleep(10000);
    uint64_t v = (uint64_t)(long)a;
    return (void *)(long)write(efd, &v, 8);
}
static void *late_read(void *a) {
    (void)a;
    usleep(10000);
    uint64_t v = 0;
    if (read(efd, &v, 8) != 8)
        return (void *)0L;
    return (void *)(long)(v == 0xfffffffffffffffeULL);
}
static short pollev(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    poll(&p, 1, 0);
    return p.revents;
}

/* Start from default signal dispositions and an empty mask, whatever the
 * environment left (e.g. SIGINT/SIGQUIT ignored in background jobs). */
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
    uint64_t v = 0;
    int fd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0);
    printf("flags: O_NONBLOCK=%d FD_CLOEXEC=%d\n", !!(fcntl(fd, F_GETFL) & O_NONBLOCK), fcntl(fd, F_GETFD));
    CHECK(read(fd, &v, 8) == 8);
    printf("initial value read: %llu\n", (unsigned long long)v);
    EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
    short ev = pollev(fd);
    printf("poll when zero: POLLIN=%d POLLOUT=%d\n", !!(ev & POLLIN), !!(ev & POLLOUT));
    v = 3;
    CHECK(write(fd, &v, 8) == 8);
    v = 4;
    CHECK(write(fd, &v, 8) == 8);
    ev = pollev(fd);
    printf("poll at 7: POLLIN=%d POLLOUT=%d\n", !!(ev & POLLIN), !!(ev & POLLOUT));
    char path[64], info[256] = {0};
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int ifd = open(path, O_RDONLY);
    CHECK(ifd >= 0 && read(ifd, info, sizeof info - 1) > 0);
    close(ifd);
    char *line = strstr(info, "eventfd-count:");
    printf("fdinfo eventfd-count (hex field): %s\n",
           line ? (strtoull(line + strlen("eventfd-count:"), NULL, 16) == 7 ? "7" : "other") : "missing");
    CHECK(read(fd, &v, 8) == 8);
    printf("after writing 3 and 4, read: %llu\n", (unsigned long long)v);
    v = 0xffffffffffffffffULL;
    EXPECT_ERRNO(write(fd, &v, 8), EINVAL);
    v = 0xfffffffffffffffeULL;
    CHECK(write(fd, &v, 8) == 8);
    ev = pollev(fd);
    printf("poll at the maximum: POLLIN=%d POLLOUT=%d\n", !!(ev & POLLIN), !!(ev & POLLOUT));
    v = 1;
    EXPECT_ERRNO(write(fd, &v, 8), EAGAIN);
    uint32_t small = 1;
    EXPECT_ERRNO(read(fd, &small, 4), EINVAL);
    EXPECT_ERRNO(write(fd, &small, 4), EINVAL);
    CHECK(read(fd, &v, 8) == 8);
    close(fd);

    fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(fd >= 0);
    printf("semaphore reads:");
    while (read(fd, &v, 8) == 8)
        printf(" %llu", (unsigned long long)v);
    printf(" then %s\n", errname(errno));
    close(fd);

    /* Blocking read woken by a thread's write, blocking write woken by a read. */
    efd = eventfd(0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_write, (void *)9L) == 0);
    CHECK(read(efd, &v, 8) == 8);
    pthread_join(t, NULL);
    printf("blocked read woken with %llu\n", (unsigned long long)v);
    v = 0xfffffffffffffffeULL;
    CHECK(write(efd, &v, 8) == 8);
    CHECK(pthread_create(&t, NULL, late_read, NULL) == 0);
    v = 5;
    CHECK(write(efd, &v, 8) == 8); /* blocks until the thread reads */
    void *ok;
    pthread_join(t, &ok);
    CHECK(read(efd, &v, 8) == 8);
    printf("blocked write completed after the reader drained: %s, counter then %llu\n", ok ? "yes" : "no",
           (unsigned long long)v);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        uint64_t x = 40;
        _exit(write(efd, &x, 8) == 8 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(read(efd, &v, 8) == 8);
    printf("value written by a child: %llu\n", (unsigned long long)v);
    EXPECT_ERRNO(eventfd(0, 0x4000000), EINVAL);
    return finish();
}
