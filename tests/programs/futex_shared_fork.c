/* Futexes across processes: a word in a MAP_SHARED anonymous mapping is waited
 * on by a child and woken by the parent (FUTEX_WAKE returns 1) and the other
 * way round; a file mapped separately by two processes (different addresses)
 * is one futex (key by file and offset); the _PRIVATE forms do not cross
 * processes (the parent's private and shared wakes find nobody, the child's
 * private wait times out); a PTHREAD_PROCESS_SHARED mutex protects a counter
 * incremented 10000 times by each of two processes, and a process-shared
 * condition variable hands over a value. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static long futex(int *u, int op, int val, const struct timespec *ts) {
    return syscall(SYS_futex, u, op, val, ts, NULL, 0);
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
static void wait_sleeping(pid_t p) {
    for (int i = 0; i < 5000 && state_of(p) != 'S'; i++)
        usleep(500);
}

struct shared {
    int word;
    int word2;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long counter;
    int handoff;
};

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
    struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    int st;

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        long r = futex(&sh->word, FUTEX_WAIT, 0, NULL);
        _exit(r == 0 && sh->word == 1 ? 0 : 1);
    }
    wait_sleeping(c);
    sh->word = 1;
    printf("parent wakes the child: FUTEX_WAKE returned %ld\n", futex(&sh->word, FUTEX_WAKE, 1, NULL));
    CHECK(waitpid(c, &st, 0) == c);
    printf("child woke with the new value: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");

    pid_t me = getpid();
    fflush(stdout);
    c = fork();
    if (c == 0) {
        wait_sleeping(me);
        sh->word2 = 1;
        _exit((int)futex(&sh->word2, FUTEX_WAKE, 1, NULL));
    }
    long r = futex(&sh->word2, FUTEX_WAIT, 0, NULL);
    CHECK(waitpid(c, &st, 0) == c);
    printf("child wakes the parent: wait returned %ld, child's wake count %d\n", r, WEXITSTATUS(st));

    /* A file mapped twice, at different addresses. */
    int fd = open("futexfile", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    int *fw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(fw != MAP_FAILED);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (other == MAP_FAILED || other == fw)
            _exit(2);
        _exit(futex(other, FUTEX_WAIT, 0, NULL) == 0 ? 0 : 1);
    }
    wait_sleeping(c);
    *fw = 1;
    printf("file-backed futex, different mappings: wake returned %ld\n", futex(fw, FUTEX_WAKE, 1, NULL));
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);

    /* Private operations stay within a process. */
    sh->word = 0;
    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        long rr = futex(&sh->word, FUTEX_WAIT_PRIVATE, 0, &ts);
        _exit(rr == -1 && errno == ETIMEDOUT ? 0 : 1);
    }
    wait_sleeping(c);
    printf("FUTEX_WAKE_PRIVATE from the parent woke %ld\n", futex(&sh->word, FUTEX_WAKE_PRIVATE, 1, NULL));
    printf("FUTEX_WAKE from the parent woke %ld\n", futex(&sh->word, FUTEX_WAKE, 1, NULL));
    CHECK(waitpid(c, &st, 0) == c);
    printf("child's private wait timed out: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");

    /* Process-shared mutex and condition variable. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    CHECK(pthread_mutex_init(&sh->mu, &ma) == 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    CHECK(pthread_cond_init(&sh->cv, &ca) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        for (int i = 0; i < 10000; i++) {
            pthread_mutex_lock(&sh->mu);
            sh->counter++;
            pthread_mutex_unlock(&sh->mu);
        }
        pthread_mutex_lock(&sh->mu);
        while (sh->handoff == 0)
            pthread_cond_wait(&sh->cv, &sh->mu);
        int got = sh->handoff;
        pthread_mutex_unlock(&sh->mu);
        _exit(got == 42 ? 0 : 1);
    }
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&sh->mu);
        sh->counter++;
        pthread_mutex_unlock(&sh->mu);
    }
    pthread_mutex_lock(&sh->mu);
    sh->handoff = 42;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    CHECK(waitpid(c, &st, 0) == c);
    printf("process-shared mutex: counter %ld; condvar handoff received: %s\n", sh->counter,
           WEXITSTATUS(st) == 0 ? "yes" : "no");
    return finish();
}
