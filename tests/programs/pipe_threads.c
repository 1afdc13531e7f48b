/* Pipes between threads of one process: a producer thread streams 1 MiB while
 * a consumer thread reads and checks it (EOF when the producer closes its
 * end); four writer threads share one pipe with 128-byte records that arrive
 * whole and in order per writer; two threads play 1000 rounds of ping-pong;
 * a thread blocked in read is woken by a write from another thread. */
#include "common.h"
#include <signal.h>
#include <pthread.h>

#define TOTAL (1 << 20)
static int sp[2];

static unsigned char pattern(long i) {
    return (unsigned char)((i * 13 + (i >> 11)) & 0xff);
}
static void *producer(void *a) {
    (void)a;
    static unsigned char buf[6000];
    long off = 0;
    int chunk = 7;
    while (off < TOTAL) {
        int n = chunk;
        if (off + n > TOTAL)
            n = (int)(TOTAL - off);
        for (int i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        if (write(sp[1], buf, (size_t)n) != n)
            return (void *)1L;
        off += n;
        chunk = chunk * 7 % 5999 + 1;
    }
    close(sp[1]);
    return NULL;
}
static void *consumer(void *a) {
    (void)a;
    static unsigned char buf[4096];
    long got = 0, bad = 0;
    ssize_t n;
    while ((n = read(sp[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(got + i))
                bad++;
        got += n;
    }
    return (void *)(got * 1000 + bad);
}

static int rp[2];
static void *rec_writer(void *a) {
    long k = (long)a;
    char rec[128];
    for (int s = 0; s < 300; s++) {
        memset(rec, 'A' + (int)k, sizeof rec);
        int l = snprintf(rec, sizeof rec, "%ld:%04d:", k, s);
        rec[l] = 'A' + (char)k;
        if (write(rp[1], rec, sizeof rec) != sizeof rec)
            return (void *)1L;
    }
    return NULL;
}

static int ping[2], pong[2];
static void *ponger(void *a) {
    (void)a;
    int v;
    while (read(ping[0], &v, sizeof v) == sizeof v) {
        v += 2;
        if (write(pong[1], &v, sizeof v) != sizeof v)
            break;
    }
    return NULL;
}

static int wake[2];
static void *sleeper_reader(void *a) {
    (void)a;
    char buf[8] = {0};
    ssize_t n = read(wake[0], buf, sizeof buf - 1);
    return (void *)(long)(n == 4 && strcmp(buf, "wake") == 0);
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
    CHECK(pipe(sp) == 0);
    pthread_t pr, co;
    CHECK(pthread_create(&co, NULL, consumer, NULL) == 0);
    CHECK(pthread_create(&pr, NULL, producer, NULL) == 0);
    void *r1, *r2;
    pthread_join(pr, &r1);
    pthread_join(co, &r2);
    printf("stream: producer ok=%s, consumer got %ld bytes, %ld wrong\n", r1 == NULL ? "yes" : "no",
           (long)r2 / 1000, (long)r2 % 1000);

    CHECK(pipe(rp) == 0);
    pthread_t w[4];
    for (long k = 0; k < 4; k++)
        CHECK(pthread_create(&w[k], NULL, rec_writer, (void *)k) == 0);
    int count[4] = {0}, next[4] = {0}, torn = 0, disorder = 0;
    char rec[128];
    for (int i = 0; i < 4 * 300; i++) {
        ssize_t n = read(rp[0], rec, sizeof rec);
        long k = -1;
        int s = -1;
        if (n != 128 || sscanf(rec, "%ld:%d:", &k, &s) != 2 || k < 0 || k > 3) {
            torn++;
            continue;
        }
        for (int j = 12; j < 128; j++)
            if (rec[j] != 'A' + k)
                torn++;
        if (s != next[k])
            disorder++;
        next[k] = s + 1;
        count[k]++;
    }
    for (int k = 0; k < 4; k++)
        pthread_join(w[k], NULL);
    printf("records per writer thread: %d %d %d %d, torn: %d, out of order: %d\n", count[0], count[1], count[2],
           count[3], torn, disorder);

    CHECK(pipe(ping) == 0 && pipe(pong) == 0);
    pthread_t pg;
    CHECK(pthread_create(&pg, NULL, ponger, NULL) == 0);
    int v = 0;
    for (int i = 0; i < 1000; i++)
        if (write(ping[1], &v, sizeof v) != sizeof v || read(pong[0], &v, sizeof v) != sizeof v)
            break;
    close(ping[1]);
    pthread_join(pg, NULL);
    printf("ping-pong value after 1000 rounds: %d\n", v);

    CHECK(pipe(wake) == 0);
    pthread_t sr;
    CHECK(pthread_create(&sr, NULL, sleeper_reader, NULL) == 0);
    usleep(10000);
    CHECK(write(wake[1], "wake", 4) == 4);
    void *ok;
    pthread_join(sr, &ok);
    printf("blocked reader thread woken with the data: %s\n", ok ? "yes" : "no");
    return finish();
}
