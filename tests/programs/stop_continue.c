/* SIGSTOP and SIGCONT on a child that counts in shared memory: waitpid
 * WUNTRACED reports WIFSTOPPED once, /proc shows state T in every thread, the
 * counter freezes, a signal sent while stopped is handled only after SIGCONT,
 * WCONTINUED reports WIFCONTINUED once and the child's SIGCONT handler runs;
 * SIGCONT to a running child reports nothing; a SIGTERM sent to a stopped
 * child waits until SIGCONT (then kills it), while SIGKILL kills a stopped
 * child at once. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

struct shared {
    volatile long counter;
    volatile int usr1, cont;
};
static struct shared *sh;

static char state_of(const char *path) {
    char buf[512];
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

/* "TTT": the state of each thread of pid. */
static void thread_states(pid_t pid, char *out) {
    char path[300];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 8) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", pid, e->d_name);
        out[n++] = state_of(path);
    }
    if (d)
        closedir(d);
    out[n] = 0;
}

static void on_usr1(int s) {
    (void)s;
    sh->usr1 = 1;
}
static void on_cont(int s) {
    (void)s;
    sh->cont++;
}
static void *sleeper(void *a) {
    (void)a;
    while (sh)
        pause();
    return NULL;
}

static void msleep(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t spawn_counter(int threads) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1);
        signal(SIGCONT, on_cont);
        pthread_t t;
        for (int i = 0; i < threads; i++)
            pthread_create(&t, NULL, sleeper, NULL);
        for (;;) {
            sh->counter++;
            msleep(1);
        }
    }
    while (sh->counter < 3)
        msleep(1);
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
    sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    pid_t c = spawn_counter(2);
    int st;
    char states[16];

    /* SIGCONT to a running process: nothing to report. */
    CHECK(kill(c, SIGCONT) == 0);
    for (int i = 0; i < 1000 && sh->cont == 0; i++)
        msleep(1);
    printf("SIGCONT while running: handler ran %d time(s), WCONTINUED report: %s\n", sh->cont,
           waitpid(c, &st, WCONTINUED | WNOHANG) == 0 ? "none" : "yes");
    sh->cont = 0;

    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    printf("after SIGSTOP: WIFSTOPPED=%d sig=SIG%s\n", WIFSTOPPED(st), WIFSTOPPED(st) ? sigabbrev_np(WSTOPSIG(st)) : "-");
    thread_states(c, states);
    printf("thread states: %s\n", states);
    long before = sh->counter;
    msleep(30);
    printf("counter frozen while stopped: %s\n", sh->counter == before ? "yes" : "no");
    CHECK(waitpid(c, &st, WUNTRACED | WNOHANG) == 0);
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED | WNOHANG) == 0);
    CHECK(kill(c, SIGUSR1) == 0);
    msleep(20);
    printf("SIGUSR1 handled while stopped: %s\n", sh->usr1 ? "yes" : "no");

    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    printf("after SIGCONT: WIFCONTINUED=%d\n", WIFCONTINUED(st));
    for (int i = 0; i < 2000 && (sh->counter == before || !sh->usr1 || !sh->cont); i++)
        msleep(1);
    printf("counter moving again: %s, SIGUSR1 handled: %s, SIGCONT handler ran: %d\n",
           sh->counter != before ? "yes" : "no", sh->usr1 ? "yes" : "no", sh->cont);
    CHECK(waitpid(c, &st, WCONTINUED | WNOHANG) == 0);

    /* Stopped, then SIGTERM: it stays pending (no thread can take it) until SIGCONT. */
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));
    CHECK(kill(c, SIGTERM) == 0);
    msleep(20);
    thread_states(c, states);
    printf("SIGTERM to a stopped child: still there=%s, thread states %s\n",
           waitpid(c, &st, WNOHANG) == 0 ? "yes" : "no", states);
    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    printf("after SIGCONT: WIFSIGNALED=%d sig=SIG%s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");

    sh->counter = 0;
    c = spawn_counter(0);
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));
    CHECK(kill(c, SIGKILL) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    printf("SIGKILL to a stopped child: WIFSIGNALED=%d sig=SIG%s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
    return finish();
}
