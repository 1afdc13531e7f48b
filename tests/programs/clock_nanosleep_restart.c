/* Restart semantics of sleeps. Three children sleep SLEEP_MS (nanosleep,
 * relative clock_nanosleep, absolute clock_nanosleep) and are stopped and
 * continued midway: with no handler involved the sleeps are transparently
 * restarted and return 0 after at least SLEEP_MS. A child with a SIGCONT handler
 * sees its nanosleep fail with EINTR instead (with the remaining time set). An
 * absolute clock_nanosleep interrupted by a handler returns EINTR and leaves
 * the remaining-time argument untouched. Errors come back as return values:
 * EINVAL for a thread CPU clock, a bad nanosecond count or a bad clock;
 * unknown flag bits are ignored. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* Long enough that every child is still asleep when the parent, on a loaded
 * machine, gets round to stopping it. */
#define SLEEP_MS 600

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
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
static void on_sig(int s) {
    (void)s;
}

/* Exit code: 0 = returned 0 after >= SLEEP_MS, 1 = returned 0 too early,
 * 2 = EINTR with rem in (0, SLEEP_MS], 3 = other. */
static pid_t sleeper(int kind) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (kind == 3)
            signal(SIGCONT, on_sig);
        long long t0 = mono_ms();
        struct timespec req = {0, SLEEP_MS * 1000 * 1000}, rem = {0, 0};
        int r;
        if (kind == 0 || kind == 3) {
            r = nanosleep(&req, &rem) == 0 ? 0 : errno;
        } else if (kind == 1) {
            r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
        } else {
            struct timespec when;
            clock_gettime(CLOCK_MONOTONIC, &when);
            when.tv_nsec += SLEEP_MS * 1000 * 1000;
            if (when.tv_nsec >= 1000000000L) {
                when.tv_sec++;
                when.tv_nsec -= 1000000000L;
            }
            r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL);
        }
        long long el = mono_ms() - t0;
        long long rem_ns = rem.tv_sec * 1000000000LL + rem.tv_nsec;
        if (r == 0)
            _exit(el >= SLEEP_MS ? 0 : 1);
        if (r == EINTR)
            _exit(rem_ns > 0 && rem_ns <= SLEEP_MS * 1000000LL ? 2 : 4);
        _exit(3);
    }
    return c;
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
    const char *names[] = {"nanosleep", "clock_nanosleep relative", "clock_nanosleep TIMER_ABSTIME",
                           "nanosleep, SIGCONT handler"};
    pid_t kids[4];
    for (int k = 0; k < 4; k++)
        kids[k] = sleeper(k);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2000 && state_of(kids[k]) != 'S'; i++)
            usleep(500);
    usleep(5000);
    int st;
    for (int k = 0; k < 4; k++) {
        CHECK(kill(kids[k], SIGSTOP) == 0);
        CHECK(waitpid(kids[k], &st, WUNTRACED) == kids[k] && WIFSTOPPED(st));
    }
    usleep(20000);
    for (int k = 0; k < 4; k++)
        CHECK(kill(kids[k], SIGCONT) == 0);
    for (int k = 0; k < 4; k++) {
        CHECK(waitpid(kids[k], &st, 0) == kids[k]);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 100;
        printf("%-30s stopped and continued: %s\n", names[k],
               code == 0   ? "returned 0 after the whole sleep"
               : code == 1 ? "returned 0 too early"
               : code == 2 ? "EINTR with remaining time"
                           : "other");
    }

    /* Absolute sleep interrupted by a handler: rem is left alone. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t me = getpid();
    fflush(stdout);
    pid_t h = fork();
    if (h == 0) {
        for (int i = 0; i < 5000 && state_of(me) != 'S'; i++)
            usleep(500);
        kill(me, SIGUSR1);
        _exit(0);
    }
    struct timespec when, rem = {123, 456};
    clock_gettime(CLOCK_MONOTONIC, &when);
    when.tv_sec += 10;
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, &rem);
    printf("absolute sleep, handler with SA_RESTART: returned %s, rem untouched: %s\n", r ? errname(r) : "0",
           rem.tv_sec == 123 && rem.tv_nsec == 456 ? "yes" : "no");
    waitpid(h, &st, 0);

    struct timespec ms = {0, 1000000}, bad = {0, 1000000000L};
    printf("CLOCK_THREAD_CPUTIME_ID: %s\n", errname(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ms, NULL)));
    printf("bad tv_nsec: %s\n", errname(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL)));
    printf("bad clock: %s\n", errname(clock_nanosleep((clockid_t)99, 0, &ms, NULL)));
    errno = 0;
    long raw = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0x10, &ms, NULL);
    printf("bad flags (raw syscall): %ld %s\n", raw, errname(errno));
    return finish();
}
