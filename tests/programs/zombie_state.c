/* Zombies: a child that has exited shows state Z in /proc/PID/stat and
 * "Z (zombie)" in /proc/PID/status until it is reaped, keeps its ppid field,
 * has an empty cmdline, can still be signalled (kill(pid, 0) succeeds), and
 * after waitpid its /proc entry is gone (ENOENT) and kill fails with ESRCH.
 * A zombie thread-group leader whose other thread still runs is also shown. */
#include "common.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static int read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

static char state_of(pid_t pid, int *ppid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (read_file(path, buf, sizeof buf) < 0)
        return '-';
    char *p = strrchr(buf, ')');
    if (!p)
        return '?';
    char st = 0;
    int pp = 0;
    sscanf(p + 2, "%c %d", &st, &pp);
    if (ppid)
        *ppid = pp;
    return st;
}

static char wait_for_state(pid_t pid, char want) {
    char s = 0;
    for (int i = 0; i < 3000; i++) {
        s = state_of(pid, NULL);
        if (s == want)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return s;
}

static void *thread_wait(void *arg) {
    int fd = (int)(long)arg;
    char b;
    ssize_t n = read(fd, &b, 1);
    _exit(n == 0 ? 17 : 18);
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
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(4);
    printf("state reaches Z: %s\n", wait_for_state(c, 'Z') == 'Z' ? "yes" : "no");
    int ppid = 0;
    state_of(c, &ppid);
    printf("zombie's ppid is us: %s\n", ppid == getpid() ? "yes" : "no");
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", c);
    CHECK(read_file(path, buf, sizeof buf) > 0);
    char *s = strstr(buf, "\nState:");
    if (s) {
        char *e = strchr(s + 1, '\n');
        if (e)
            *e = 0;
        printf("status line:%s\n", s + 1 + 6);
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", c);
    printf("zombie cmdline length: %d\n", read_file(path, buf, sizeof buf));
    CHECK(kill(c, 0) == 0);
    CHECK(kill(c, SIGTERM) == 0); /* ignored by a zombie */
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("reaped: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    snprintf(path, sizeof path, "/proc/%d/stat", c);
    EXPECT_ERRNO(open(path, O_RDONLY), ENOENT);
    EXPECT_ERRNO(kill(c, 0), ESRCH);

    /* The leader exits with pthread_exit while another thread lives: the leader
     * shows Z, the process is still there, and the last thread's _exit ends it. */
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        close(p[1]);
        pthread_t t;
        pthread_create(&t, NULL, thread_wait, (void *)(long)p[0]);
        pthread_exit(NULL);
    }
    close(p[0]);
    printf("leader-only exit: leader state reaches Z: %s\n", wait_for_state(c, 'Z') == 'Z' ? "yes" : "no");
    printf("leader-only exit: not yet waitable: %s\n", waitpid(c, &st, WNOHANG) == 0 ? "yes" : "no");
    CHECK(kill(c, 0) == 0);
    close(p[1]);
    CHECK(waitpid(c, &st, 0) == c);
    printf("leader-only exit: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}
