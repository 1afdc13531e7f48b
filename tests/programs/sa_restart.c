/* SA_RESTART: a SIGUSR1 handler interrupts a blocking read on an empty pipe,
 * a write to a full pipe, wait4 for a running child and a FUTEX_WAIT. Without
 * SA_RESTART each call fails with EINTR; with it, the call is restarted and
 * completes (the interrupting helper then supplies data, drains the pipe, ends
 * the child or wakes the futex). With SIGUSR1 ignored nothing is interrupted.
 * The helper process signals only once it sees us sleeping (state S in
 * /proc/PID/stat). */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
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

enum { NOTHING, WRITE_BYTE, KILL_PID, DRAIN, WAKE_FUTEX };
static int *shared_word;

/* Forks a helper: once we sleep, it sends SIGUSR1 (if sig), then does `then`. */
static pid_t helper(int sig, int then, int arg) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 5000 && state_of(parent) != 'S'; i++)
            usleep(1000);
        if (sig)
            kill(parent, sig);
        usleep(2000);
        for (int i = 0; i < 5000 && state_of(parent) != 'S'; i++)
            usleep(1000);
        if (then == WRITE_BYTE) {
            if (write(arg, "d", 1) != 1)
                _exit(1);
        } else if (then == KILL_PID) {
            kill(arg, SIGKILL);
        } else if (then == DRAIN) {
            char buf[4096];
            fcntl(arg, F_SETFL, O_NONBLOCK);
            while (read(arg, buf, sizeof buf) > 0)
                ;
        } else if (then == WAKE_FUTEX) {
            *shared_word = 1;
            syscall(SYS_futex, shared_word, FUTEX_WAKE, 1, NULL, NULL, 0);
        }
        _exit(0);
    }
    return c;
}

static void reap(pid_t c) {
    int st;
    waitpid(c, &st, 0);
}

static void install(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
}

static void case_read(const char *what, int flags) {
    install(flags);
    hits = 0;
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? WRITE_BYTE : NOTHING, p[1]);
    char b = 0;
    ssize_t n = read(p[0], &b, 1);
    printf("read, %s: %s, handler ran %d time(s)\n", what, n == 1 ? "restarted and got the data" : errname(errno), hits);
    reap(h);
    close(p[0]);
    close(p[1]);
}

static void case_write(const char *what, int flags) {
    install(flags);
    hits = 0;
    int p[2];
    CHECK(pipe(p) == 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    while (write(p[1], big, sizeof big) > 0)
        ;
    fcntl(p[1], F_SETFL, 0);
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? DRAIN : NOTHING, p[0]);
    ssize_t n = write(p[1], "x", 1);
    printf("write to a full pipe, %s: %s, handler ran %d time(s)\n", what,
           n == 1 ? "restarted and wrote" : errname(errno), hits);
    reap(h);
    close(p[0]);
    close(p[1]);
}

static void case_wait(const char *what, int flags) {
    install(flags);
    hits = 0;
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        close(p[1]);
        char b;
        if (read(p[0], &b, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(p[0]);
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? KILL_PID : NOTHING, kid);
    int st;
    pid_t r = wait4(kid, &st, 0, NULL);
    if (r == kid)
        printf("wait4, %s: restarted, child %s, handler ran %d time(s)\n", what,
               WIFSIGNALED(st) ? "killed by the helper" : "exited", hits);
    else
        printf("wait4, %s: %s, handler ran %d time(s)\n", what, errname(errno), hits);
    reap(h);
    close(p[1]);
    if (r != kid)
        waitpid(kid, &st, 0);
}

static void case_futex(const char *what, int flags) {
    install(flags);
    hits = 0;
    *shared_word = 0;
    pid_t h = helper(SIGUSR1, flags & SA_RESTART ? WAKE_FUTEX : NOTHING, 0);
    long r;
    do {
        r = syscall(SYS_futex, shared_word, FUTEX_WAIT, 0, NULL, NULL, 0);
    } while (r == 0 && *shared_word == 0); /* a wake without the store: wait again */
    printf("futex wait, %s: %s, handler ran %d time(s)\n", what,
           r == 0 ? "woken by the helper" : r == -1 && errno == EAGAIN ? "value changed" : errname(errno), hits);
    reap(h);
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
    shared_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared_word != MAP_FAILED);
    case_read("no SA_RESTART", 0);
    case_read("SA_RESTART", SA_RESTART);
    case_write("no SA_RESTART", 0);
    case_write("SA_RESTART", SA_RESTART);
    case_wait("no SA_RESTART", 0);
    case_wait("SA_RESTART", SA_RESTART);
    case_futex("no SA_RESTART", 0);
    case_futex("SA_RESTART", SA_RESTART);

    /* Ignored: the read just waits for the data. */
    signal(SIGUSR1, SIG_IGN);
    hits = 0;
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t h = helper(SIGUSR1, WRITE_BYTE, p[1]);
    char b;
    ssize_t n = read(p[0], &b, 1);
    printf("read, SIGUSR1 ignored: %s\n", n == 1 ? "not interrupted, got the data" : errname(errno));
    reap(h);
    return finish();
}
