/* Task names: the initial comm is the binary's base name cut to 15 bytes;
 * PR_SET_NAME truncates to 15 bytes and is per thread (/proc/self/task/TID/comm),
 * pthread_setname_np/getname_np on another thread, writing /proc/self/comm,
 * an empty name, a forked child inheriting the forking thread's name, and exec
 * resetting it to the base name of the executed path ("exe" for /proc/self/exe). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void read_comm(const char *path, char *out, size_t size) {
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, out, size - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    out[n] = 0;
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = 0;
}

static void task_comm(pid_t tid, char *out, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
    read_comm(path, out, size);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int step;
static pid_t thread_tid;

static void wait_step(int s) {
    pthread_mutex_lock(&mu);
    while (step < s)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}
static void set_step(int s) {
    pthread_mutex_lock(&mu);
    step = s;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void *thread_fn(void *a) {
    (void)a;
    thread_tid = (pid_t)syscall(SYS_gettid);
    prctl(PR_SET_NAME, "thread-self-name");
    set_step(1);
    wait_step(2);
    return NULL;
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

int main(int argc, char **argv) {
    char name[32], other[32];
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        prctl(PR_GET_NAME, name);
        printf("  after exec of /proc/self/exe: name=\"%s\"\n", name);
        fflush(stdout);
        return 0;
    }
    default_signals();
    char exe[PATH_MAX] = {0};
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    char base15[16];
    snprintf(base15, sizeof base15, "%s", strrchr(exe, '/') + 1);
    prctl(PR_GET_NAME, name);
    printf("initial name is the binary's base name cut to 15 bytes: %s\n", strcmp(name, base15) == 0 ? "yes" : "no");

    CHECK(prctl(PR_SET_NAME, "a-very-long-process-name") == 0);
    memset(name, 0, sizeof name);
    CHECK(prctl(PR_GET_NAME, name) == 0);
    printf("PR_GET_NAME: \"%s\" (length %zu)\n", name, strlen(name));
    read_comm("/proc/self/comm", other, sizeof other);
    printf("/proc/self/comm: \"%s\"\n", other);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0);
    wait_step(1);
    task_comm(thread_tid, other, sizeof other);
    printf("thread's own PR_SET_NAME: \"%s\"\n", other);
    task_comm(getpid(), other, sizeof other);
    printf("main thread's comm unchanged: \"%s\"\n", other);
    CHECK(pthread_setname_np(t, "set-by-main") == 0);
    task_comm(thread_tid, other, sizeof other);
    printf("after pthread_setname_np: \"%s\"\n", other);
    char got[32] = {0};
    CHECK(pthread_getname_np(t, got, sizeof got) == 0);
    printf("pthread_getname_np: \"%s\"\n", got);
    CHECK(pthread_setname_np(t, "this-name-is-too-long") == ERANGE);
    set_step(2);
    pthread_join(t, NULL);

    int fd = open("/proc/self/comm", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "via-proc", 8) == 8);
    close(fd);
    prctl(PR_GET_NAME, name);
    printf("after writing /proc/self/comm: \"%s\"\n", name);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        prctl(PR_GET_NAME, name);
        printf("  forked child inherits: \"%s\"\n", name);
        CHECK(prctl(PR_SET_NAME, "") == 0);
        prctl(PR_GET_NAME, name);
        read_comm("/proc/self/comm", other, sizeof other);
        printf("  empty name: PR_GET_NAME=\"%s\" comm=\"%s\"\n", name, other);
        fflush(stdout);
        char *args[] = {argv[0], "after-exec", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    prctl(PR_GET_NAME, name);
    printf("parent's name unchanged by the child: \"%s\"\n", name);
    return finish();
}
