/* Syscall sites of the form `mov $nr, %eax; syscall` in code the program made
 * itself, run enough to be patched by the seccomp platform (mm::patch): from many
 * threads at once, after fork, restarted by signals (SA_RESTART and
 * restart_syscall(2) after a stop), and rewritten by the program once it makes its
 * code writable. Everything must behave as on Linux. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

typedef long (*site_fn)(long, long, long);

static unsigned char *code;

/* Writes `mov $nr, %eax; syscall; ret` at code+off and returns it as a function
 * (its arguments arrive in rdi, rsi, rdx, which is where the syscall wants them). */
static site_fn make_site(size_t off, unsigned nr) {
    unsigned char *p = code + off;
    p[0] = 0xb8;
    memcpy(p + 1, &nr, 4);
    p[5] = 0x0f;
    p[6] = 0x05;
    p[7] = 0xc3;
    return (site_fn)(void *)p;
}

static site_fn getpid_site, getppid_site, read_site, nanosleep_site;
/* getpgid(0) through `mov %edi, %eax; mov $0, %edi; syscall; ret` called as f(nr):
 * the number comes in eax, the site's mov sets an argument (as glibc's openat does). */
typedef long (*nr_fn)(long);
static nr_fn pgid_site;

#define THREADS 4
#define CALLS 20000
static pthread_barrier_t barrier;
static long thread_bad[THREADS];

static void *hammer(void *arg) {
    long i = (long)arg;
    long pid = getpid();
    pthread_barrier_wait(&barrier);
    for (int n = 0; n < CALLS; n++)
        if (getpid_site(0, 0, 0) != pid)
            thread_bad[i]++;
    return NULL;
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(code != MAP_FAILED);
    getpid_site = make_site(0, SYS_getpid);
    read_site = make_site(64, SYS_read);
    nanosleep_site = make_site(128, SYS_nanosleep);
    static const unsigned char pgid_code[] = {0x89, 0xf8, 0xbf, 0, 0, 0, 0, 0x0f, 0x05, 0xc3};
    memcpy(code + 192, pgid_code, sizeof pgid_code);
    pgid_site = (nr_fn)(void *)(code + 192);
    CHECK(mprotect(code, 4096, PROT_READ | PROT_EXEC) == 0);

    /* Many threads run the same site from their first call on. */
    pthread_t th[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, (void *)i);
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += thread_bad[i];
    }
    CHECK(bad == 0);

    /* The argument-register form, many times. */
    bad = 0;
    for (int n = 0; n < 1000; n++)
        bad += pgid_site(SYS_getpgid) != getpgid(0);
    CHECK(bad == 0);

    /* A forked child runs the (now patched) site too. */
    pid_t child = fork();
    if (child == 0) {
        long me = getpid();
        for (int n = 0; n < 1000; n++)
            if (getpid_site(0, 0, 0) != me)
                _exit(1);
        _exit(0);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);

    /* A read at a site, interrupted by a handler with SA_RESTART, restarts. */
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    char c;
    for (int n = 0; n < 5; n++) {
        if (write(pfd[1], "x", 1) != 1) failures++;
        if (read_site(pfd[0], (long)&c, 1) != 1) failures++;
    }
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigaction(SIGALRM, &sa, NULL);
    child = fork();
    if (child == 0) {
        usleep(300 * 1000);
        write(pfd[1], "y", 1);
        _exit(0);
    }
    struct itimerval it = {.it_value = {.tv_usec = 50 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long r = read_site(pfd[0], (long)&c, 1);
    CHECK(r == 1 && c == 'y');
    waitpid(child, &status, 0);

    /* A nanosleep at a site, stopped and continued (no handler), resumes through
     * restart_syscall and sleeps its full time. */
    struct timespec tiny = {0, 1000};
    for (int n = 0; n < 5; n++)
        nanosleep_site((long)&tiny, 0, 0);
    pid_t self = getpid();
    child = fork();
    if (child == 0) {
        usleep(50 * 1000);
        kill(self, SIGSTOP);
        usleep(50 * 1000);
        kill(self, SIGCONT);
        _exit(0);
    }
    struct timespec t0, t1, req = {0, 400 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = nanosleep_site((long)&req, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(r == 0);
    CHECK(ms >= 395);
    waitpid(child, &status, 0);

    /* Made writable, the code reads as the program wrote it, and a rewrite of the
     * syscall number takes effect. */
    CHECK(mprotect(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
    printf("site bytes:");
    for (int i = 0; i < 8; i++)
        printf(" %02x", code[i]);
    printf("\n");
    unsigned nr = SYS_getppid;
    memcpy(code + 1, &nr, 4);
    getppid_site = getpid_site;
    CHECK(getppid_site(0, 0, 0) == getppid());
    CHECK(mprotect(code, 4096, PROT_READ | PROT_EXEC) == 0);
    bad = 0;
    for (int n = 0; n < 1000; n++)
        bad += getppid_site(0, 0, 0) != getppid();
    CHECK(bad == 0);
    return finish();
}
