/* Robust mutexes: a thread that exits holding one leaves it to the next locker
 * with EOWNERDEAD; pthread_mutex_consistent makes it usable again, while
 * unlocking without it makes it ENOTRECOVERABLE; a waiter already blocked when
 * the owner exits is woken with EOWNERDEAD; the same across processes with a
 * PTHREAD_PROCESS_SHARED robust mutex in shared memory (owner _exits, or is
 * killed by SIGKILL); a robust PI mutex behaves the same; get_robust_list
 * returns the list head glibc registered, set_robust_list with a bad length is
 * EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static pthread_mutex_t *mu;
static volatile pid_t waiter_tid;

static void init_robust(pthread_mutex_t *m, int shared, int pi) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (shared)
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pi)
        pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    CHECK(pthread_mutex_init(m, &a) == 0);
}
static void *lock_and_leave(void *a) {
    (void)a;
    pthread_mutex_lock(mu);
    return NULL;
}
static int hold_pipe[2];
static void *lock_wait_leave(void *a) {
    (void)a;
    pthread_mutex_lock(mu);
    char b = 'l';
    if (write(hold_pipe[1], &b, 1) != 1)
        return NULL;
    while (waiter_tid == 0)
        usleep(500);
    /* Leave once the waiter sleeps. */
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", waiter_tid);
    for (int k = 0; k < 5000; k++) {
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = 0;
            char *p = strrchr(buf, ')');
            if (p && p[2] == 'S')
                break;
        }
        usleep(500);
    }
    return NULL;
}
static void *blocked_locker(void *a) {
    (void)a;
    waiter_tid = (pid_t)syscall(SYS_gettid);
    int r = pthread_mutex_lock(mu);
    if (r == EOWNERDEAD) {
        pthread_mutex_consistent(mu);
        pthread_mutex_unlock(mu);
    }
    return (void *)(long)r;
}

static void thread_dies(const char *what, int pi) {
    static pthread_mutex_t m;
    mu = &m;
    init_robust(mu, 0, pi);
    pthread_t t;
    pthread_create(&t, NULL, lock_and_leave, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(mu);
    printf("%s: lock after the owner thread exited: %s\n", what, r ? errname(r) : "0");
    int c = pthread_mutex_consistent(mu);
    int u = pthread_mutex_unlock(mu);
    int l = pthread_mutex_lock(mu);
    printf("%s: consistent: %d, unlock: %d, lock again: %d\n", what, c, u, l);
    pthread_mutex_unlock(mu);
    pthread_mutex_destroy(mu);
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
    thread_dies("robust", 0);
    thread_dies("robust PI", 1);

    /* Not made consistent: ENOTRECOVERABLE. */
    static pthread_mutex_t m2;
    mu = &m2;
    init_robust(mu, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, lock_and_leave, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(mu);
    int u = pthread_mutex_unlock(mu);
    int l = pthread_mutex_lock(mu);
    printf("unrecovered: first lock %s, unlock %d, next lock %s\n", errname(r), u, errname(l));

    /* A waiter that is already blocked. */
    static pthread_mutex_t m3;
    mu = &m3;
    init_robust(mu, 0, 0);
    CHECK(pipe(hold_pipe) == 0);
    pthread_t owner, w;
    pthread_create(&owner, NULL, lock_wait_leave, NULL);
    char b;
    CHECK(read(hold_pipe[0], &b, 1) == 1);
    pthread_create(&w, NULL, blocked_locker, NULL);
    pthread_join(owner, NULL);
    void *res;
    pthread_join(w, &res);
    printf("blocked waiter woken with: %s\n", errname((int)(long)res));

    /* Across processes. */
    pthread_mutex_t *sm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sm != MAP_FAILED);
    for (int how = 0; how < 2; how++) {
        init_robust(sm, 1, 0);
        int p[2];
        CHECK(pipe(p) == 0);
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            pthread_mutex_lock(sm);
            if (write(p[1], "l", 1) != 1)
                _exit(1);
            if (how == 0)
                _exit(0);
            for (;;)
                pause();
        }
        CHECK(read(p[0], &b, 1) == 1);
        int st;
        if (how == 1)
            kill(c, SIGKILL);
        CHECK(waitpid(c, &st, 0) == c);
        r = pthread_mutex_lock(sm);
        printf("owner process %s: lock returned %s\n", how == 0 ? "exited" : "killed by SIGKILL", errname(r));
        if (r == EOWNERDEAD)
            pthread_mutex_consistent(sm);
        pthread_mutex_unlock(sm);
        close(p[0]);
        close(p[1]);
    }

    void *head = NULL;
    size_t len = 0;
    CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0);
    printf("get_robust_list: head set: %s, len %zu\n", head ? "yes" : "no", len);
    EXPECT_ERRNO(syscall(SYS_set_robust_list, head, len + 1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_get_robust_list, 0x7fffffff, &head, &len), ESRCH);
    return finish();
}
