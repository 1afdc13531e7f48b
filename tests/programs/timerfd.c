/* timerfd: relative, absolute and periodic timers; read returns the expirations since
 * the last read (8 bytes), blocks until there is one, or fails with EAGAIN when
 * non-blocking; timerfd_gettime/settime values; a signal interrupts a blocked read;
 * errors as Linux gives them. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms) {
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
}

static long ms_since(struct timespec a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

int main(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR));
    uint64_t n = 0;
    EXPECT_ERRNO(read(fd, &n, sizeof n), EAGAIN);
    char small[4];
    EXPECT_ERRNO(read(fd, small, sizeof small), EINVAL);
    EXPECT_ERRNO(write(fd, &n, sizeof n), EINVAL);
    struct itimerspec cur;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 && cur.it_interval.tv_nsec == 0);

    /* Relative one-shot. */
    struct itimerspec rel = {{0, 0}, {0, 20 * 1000000}};
    CHECK(timerfd_settime(fd, 0, &rel, NULL) == 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20 * 1000000);
    EXPECT_ERRNO(read(fd, &n, sizeof n), EAGAIN);
    sleep_ms(40);
    CHECK(read(fd, &n, sizeof n) == 8 && n == 1);
    EXPECT_ERRNO(read(fd, &n, sizeof n), EAGAIN);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* Periodic: expirations accumulate between reads. */
    struct itimerspec per = {{0, 10 * 1000000}, {0, 10 * 1000000}}, old;
    CHECK(timerfd_settime(fd, 0, &per, NULL) == 0);
    sleep_ms(55);
    CHECK(read(fd, &n, sizeof n) == 8);
    printf("about 5 expirations: %s\n", n >= 5 && n <= 15 ? "yes" : "no");
    sleep_ms(25);
    CHECK(read(fd, &n, sizeof n) == 8);
    printf("then about 2 more: %s\n", n >= 2 && n <= 12 ? "yes" : "no");
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_interval.tv_nsec == 10 * 1000000 && cur.it_value.tv_nsec <= 10 * 1000000);
    /* Re-setting returns the old setting and clears the count. */
    sleep_ms(25);
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK(timerfd_settime(fd, 0, &off, &old) == 0);
    CHECK(old.it_interval.tv_nsec == 10 * 1000000 && old.it_value.tv_nsec <= 10 * 1000000);
    EXPECT_ERRNO(read(fd, &n, sizeof n), EAGAIN);

    /* Absolute on CLOCK_REALTIME, with a blocking read. */
    int rfd = timerfd_create(CLOCK_REALTIME, 0);
    CHECK(rfd >= 0);
    struct timespec now, t0;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    now.tv_nsec += 50 * 1000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, now};
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &abs, NULL) == 0);
    CHECK(read(rfd, &n, sizeof n) == 8 && n == 1);
    printf("blocking read waited >= 45ms: %s\n", ms_since(t0) >= 45 ? "yes" : "no");
    /* In the past: already expired. */
    struct itimerspec past = {{0, 0}, {1, 0}};
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &past, NULL) == 0);
    CHECK(read(rfd, &n, sizeof n) == 8 && n == 1);
    /* Periodic from a past absolute time counts every period since. */
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int mfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct timespec start = mono;
    start.tv_sec -= 1;
    struct itimerspec catchup = {{0, 100 * 1000000}, start};
    CHECK(timerfd_settime(mfd, TFD_TIMER_ABSTIME, &catchup, NULL) == 0);
    CHECK(read(mfd, &n, sizeof n) == 8);
    printf("periods since 1 s ago: %s\n", n >= 11 && n <= 16 ? "yes" : "no");
    close(mfd);

    /* A signal interrupts a blocked read: EINTR after a handler without SA_RESTART. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerspec longer = {{0, 0}, {5, 0}};
    CHECK(timerfd_settime(rfd, 0, &longer, NULL) == 0);
    ualarm(30000, 0);
    EXPECT_ERRNO(read(rfd, &n, sizeof n), EINTR);
    CHECK(alarms == 1);
    /* With SA_RESTART the read goes on until the timer expires. */
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerspec short60 = {{0, 0}, {0, 60 * 1000000}};
    CHECK(timerfd_settime(rfd, 0, &short60, NULL) == 0);
    ualarm(20000, 0);
    CHECK(read(rfd, &n, sizeof n) == 8 && n == 1);
    CHECK(alarms == 2);

    /* The count is shared through fork (one file). */
    struct itimerspec ten = {{0, 0}, {0, 10 * 1000000}};
    CHECK(timerfd_settime(fd, 0, &ten, NULL) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t c = 0;
        _exit(read(fd, &c, sizeof c) == 8 || errno == EAGAIN ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* Errors. */
    EXPECT_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
    EXPECT_ERRNO(timerfd_create(CLOCK_TAI, 0), EINVAL);
    EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    EXPECT_ERRNO(timerfd_settime(fd, 4, &ten, NULL), EINVAL);
    struct itimerspec badts = {{0, 0}, {0, 1000000000}};
    EXPECT_ERRNO(timerfd_settime(fd, 0, &badts, NULL), EINVAL);
    EXPECT_ERRNO(timerfd_settime(fd, 0, (void *)8, NULL), EFAULT);
    EXPECT_ERRNO(timerfd_settime(0, 0, &ten, NULL), EINVAL);
    EXPECT_ERRNO(timerfd_settime(999, 0, &ten, NULL), EBADF);
    EXPECT_ERRNO(timerfd_gettime(0, &cur), EINVAL);
    EXPECT_ERRNO(timerfd_gettime(fd, (void *)8), EFAULT);
    CHECK(close(fd) == 0 && close(rfd) == 0);
    return finish();
}
