/* fork from a multithreaded process: only the forking thread exists in the
 * child (one task, gettid()==getpid(), also when a non-main thread forks), the
 * child's memory is a snapshot (a mutex held by another thread at fork time is
 * still locked in the child: trylock EBUSY), thread-local variables are those
 * of the forking thread, pthread_atfork handlers run in order (prepare before,
 * parent after in the parent, child after in the child), and the child can
 * create threads of its own. */
#include "common.h"
#include <signal.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;
static __thread int tls_id;
static char log_buf[64];
static int log_n;

static void prepare(void) { log_buf[log_n++] = 'P'; }
static void in_parent(void) { log_buf[log_n++] = 'p'; }
static void in_child(void) { log_buf[log_n++] = 'c'; }

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void set_stage(int s) {
    pthread_mutex_lock(&mu);
    stage = s;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}
static void wait_stage(int s) {
    pthread_mutex_lock(&mu);
    while (stage < s)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void *holder(void *a) {
    (void)a;
    tls_id = 2;
    pthread_mutex_lock(&held);
    set_stage(1);
    wait_stage(3);
    pthread_mutex_unlock(&held);
    return NULL;
}
static void *child_thread(void *a) {
    return (void *)((long)a + 1);
}

static void *forker(void *a) {
    (void)a;
    tls_id = 3;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("  child of a non-main thread: tasks=%d gettid==getpid=%s tls_id=%d\n", count_tasks(),
               syscall(SYS_gettid) == getpid() ? "yes" : "no", tls_id);
        printf("  mutex held by another thread at fork: trylock=%s\n",
               pthread_mutex_trylock(&held) == EBUSY ? "EBUSY" : "acquired");
        printf("  atfork log in child: %.*s\n", log_n, log_buf);
        pthread_t t;
        void *r = NULL;
        int ok = pthread_create(&t, NULL, child_thread, (void *)41L) == 0 && pthread_join(t, &r) == 0;
        printf("  child creates and joins a thread: %s (result %ld)\n", ok ? "yes" : "no", (long)r);
        fflush(stdout);
        _exit(0);
    }
    return (void *)(long)c;
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
    tls_id = 1;
    CHECK(pthread_atfork(prepare, in_parent, in_child) == 0);
    pthread_t h, f;
    CHECK(pthread_create(&h, NULL, holder, NULL) == 0);
    wait_stage(1);
    printf("tasks before fork: %d\n", count_tasks());

    /* Fork from the main thread. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("  child of the main thread: tasks=%d gettid==getpid=%s tls_id=%d\n", count_tasks(),
               syscall(SYS_gettid) == getpid() ? "yes" : "no", tls_id);
        printf("  atfork log in child: %.*s\n", log_n, log_buf);
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    printf("atfork log in parent: %.*s\n", log_n, log_buf);

    /* Fork from another thread. */
    /* Nothing may be printed between creating the forker and its fork (it flushes
     * stdout first): the result is checked after the join. */
    int created = pthread_create(&f, NULL, forker, NULL);
    void *r = NULL;
    if (created == 0)
        pthread_join(f, &r);
    CHECK(created == 0);
    c = (pid_t)(long)r;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    printf("atfork log in parent: %.*s\n", log_n, log_buf);
    /* A joined thread may linger in /proc/self/task for a moment. */
    for (int i = 0; i < 1000 && count_tasks() != 2; i++)
        usleep(1000);
    printf("parent still has its other thread: tasks=%d\n", count_tasks());
    set_stage(3);
    pthread_join(h, NULL);
    CHECK(pthread_mutex_trylock(&held) == 0);
    return finish();
}
