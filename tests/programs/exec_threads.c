/* execve in a multithreaded process: the other threads are killed (blocked in
 * read, nanosleep or a futex wait, or spinning), the new image is
 * single-threaded (/proc/self/task has one entry, "Threads: 1") and keeps the
 * pid. When a non-main thread execs, it takes over the process: after exec
 * gettid() == getpid() == the old pid, and the parent's wait sees one exit. */
#include "common.h"
#include <signal.h>
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

static int pipefd[2];
static int futex_word;
static char **saved_argv;
static char pidbuf[16];

static void *reader(void *a) {
    (void)a;
    char b;
    ssize_t n = read(pipefd[0], &b, 1);
    (void)n;
    return NULL;
}
static void *sleeper(void *a) {
    (void)a;
    struct timespec ts = {100, 0};
    nanosleep(&ts, NULL);
    return NULL;
}
static void *waiter(void *a) {
    (void)a;
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}
static volatile int spin_stop;
static void *spinner(void *a) {
    (void)a;
    while (!spin_stop)
        ;
    return NULL;
}
static void *execer(void *a) {
    (void)a;
    char *args[] = {saved_argv[0], "after", pidbuf, NULL};
    execv("/proc/self/exe", args);
    _exit(127);
}

static int count_tasks(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int status_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static void start_threads(void) {
    pthread_t t;
    CHECK(pipe(pipefd) == 0);
    pthread_create(&t, NULL, reader, NULL);
    pthread_create(&t, NULL, sleeper, NULL);
    pthread_create(&t, NULL, waiter, NULL);
    pthread_create(&t, NULL, spinner, NULL);
    /* Wait until all four exist. */
    for (int i = 0; i < 5000 && count_tasks() < 5; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
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
    saved_argv = argv;
    if (argc > 2 && strcmp(argv[1], "after") == 0) {
        printf("  after exec: tasks=%d Threads=%d pid kept=%s gettid==getpid=%s\n", count_tasks(), status_threads(),
               getpid() == atoi(argv[2]) ? "yes" : "no", syscall(SYS_gettid) == getpid() ? "yes" : "no");
        fflush(stdout);
        return 6;
    }
    default_signals();
    int st;
    printf("exec from the main thread with 4 other threads:\n");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        start_threads();
        printf("  before exec: tasks=%d Threads=%d\n", count_tasks(), status_threads());
        fflush(stdout);
        snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
        char *args[] = {argv[0], "after", pidbuf, NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));
    EXPECT_ERRNO(waitpid(-1, &st, __WALL | WNOHANG), ECHILD);

    printf("exec from a non-main thread:\n");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        start_threads();
        printf("  before exec: tasks=%d Threads=%d\n", count_tasks(), status_threads());
        fflush(stdout);
        snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
        pthread_t t;
        pthread_create(&t, NULL, execer, NULL);
        pthread_join(t, NULL); /* never returns: the exec kills this thread */
        _exit(126);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));
    EXPECT_ERRNO(waitpid(-1, &st, __WALL | WNOHANG), ECHILD);
    return finish();
}
