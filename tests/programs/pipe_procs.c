/* Pipes between processes: a child streams 1 MiB in chunks of varying size
 * and the parent reads it back with varying read sizes (contents and total
 * checked, EOF after the writer exits); three children write 500 records of
 * 64 bytes each into one pipe and every record arrives whole, in order per
 * writer; a ping-pong of 1000 round trips over two pipes; a writer whose
 * reader is gone dies of SIGPIPE, or gets EPIPE with SIGPIPE ignored. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

#define TOTAL (1 << 20)

static unsigned char pattern(long i) {
    return (unsigned char)((i * 7 + (i >> 9)) & 0xff);
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
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        static unsigned char buf[8192];
        long off = 0;
        int chunk = 1;
        while (off < TOTAL) {
            int n = chunk;
            if (off + n > TOTAL)
                n = (int)(TOTAL - off);
            for (int i = 0; i < n; i++)
                buf[i] = pattern(off + i);
            if (write(p[1], buf, (size_t)n) != n)
                _exit(1);
            off += n;
            chunk = chunk * 3 % 8191 + 1;
        }
        _exit(0);
    }
    close(p[1]);
    static unsigned char rb[10000];
    long got = 0, bad = 0;
    int want = 1;
    ssize_t n;
    while ((n = read(p[0], rb, (size_t)want)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (rb[i] != pattern(got + i))
                bad++;
        got += n;
        want = want * 5 % 9999 + 1;
    }
    close(p[0]);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("stream: %ld bytes, %ld wrong, ended with EOF: %s\n", got, bad, n == 0 ? "yes" : "no");

    /* Three writers, 64-byte records. */
    CHECK(pipe(p) == 0);
    pid_t w[3];
    for (int k = 0; k < 3; k++) {
        fflush(stdout);
        w[k] = fork();
        if (w[k] == 0) {
            close(p[0]);
            char rec[64];
            for (int s = 0; s < 500; s++) {
                memset(rec, 'a' + k, sizeof rec);
                snprintf(rec, sizeof rec, "%d:%04d:", k, s);
                rec[strlen(rec)] = 'a' + k;
                if (write(p[1], rec, sizeof rec) != sizeof rec)
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(p[1]);
    int count[3] = {0, 0, 0}, next[3] = {0, 0, 0}, torn = 0, disorder = 0;
    char rec[64];
    while ((n = read(p[0], rec, sizeof rec)) > 0) {
        int k = -1, s = -1;
        if (n != 64 || sscanf(rec, "%d:%d:", &k, &s) != 2 || k < 0 || k > 2) {
            torn++;
            continue;
        }
        for (int i = 9; i < 64; i++)
            if (rec[i] != 'a' + k)
                torn++;
        if (s != next[k])
            disorder++;
        next[k] = s + 1;
        count[k]++;
    }
    for (int k = 0; k < 3; k++)
        waitpid(w[k], &st, 0);
    printf("records per writer: %d %d %d, torn: %d, out of order: %d\n", count[0], count[1], count[2], torn,
           disorder);
    close(p[0]);

    /* Ping-pong. */
    int up[2], down[2];
    CHECK(pipe(up) == 0 && pipe(down) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        close(down[1]);
        close(up[0]);
        int v;
        while (read(down[0], &v, sizeof v) == sizeof v) {
            v++;
            if (write(up[1], &v, sizeof v) != sizeof v)
                _exit(1);
        }
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    int v = 0;
    for (int i = 0; i < 1000; i++) {
        if (write(down[1], &v, sizeof v) != sizeof v || read(up[0], &v, sizeof v) != sizeof v)
            break;
        v++;
    }
    close(down[1]);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    printf("ping-pong value after 1000 round trips: %d\n", v);
    close(up[0]);

    /* Broken pipe. */
    CHECK(pipe(p) == 0);
    close(p[0]);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        ssize_t r = write(p[1], "x", 1);
        _exit(r < 0 ? 2 : 3);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("writer without a reader: WIFSIGNALED=%d sig=SIG%s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGPIPE, SIG_IGN);
        ssize_t r = write(p[1], "x", 1);
        _exit(r == -1 && errno == EPIPE ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("with SIGPIPE ignored: EPIPE: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    return finish();
}
