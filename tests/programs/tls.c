/* Thread-local storage: each of 8 threads starts with the initializer value of
 * a __thread variable (not the main thread's current value), keeps its own
 * value across yields and sleeps, has its own copy of a 64 KiB __thread array
 * and its own errno; each thread's FS base (arch_prctl ARCH_GET_FS) is
 * distinct and equals pthread_self() (glibc's x86-64 layout); pthread_key
 * destructors run at thread exit with each thread's value. */
#include "common.h"
#include <signal.h>
#include <asm/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#define NT 8
static __thread int tvar = 5;
static __thread char big[65536];
static pthread_key_t key;
static int destructed_sum;
static unsigned long fs_of[NT];
static int results[NT];
static pthread_barrier_t all_alive;

static void destructor(void *v) {
    __atomic_fetch_add(&destructed_sum, (int)(long)v, __ATOMIC_SEQ_CST);
}

static void *worker(void *a) {
    long i = (long)a;
    int ok = 1;
    if (tvar != 5)
        ok = 0;
    tvar = (int)i * 10;
    memset(big, (int)i, sizeof big);
    pthread_setspecific(key, (void *)(i + 1));
    errno = 0;
    if (i % 2 == 0)
        close(-1); /* errno EBADF in even threads only */
    for (int k = 0; k < 20; k++) {
        sched_yield();
        if (k % 5 == 0) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        if (tvar != (int)i * 10)
            ok = 0;
    }
    for (size_t k = 0; k < sizeof big; k += 512)
        if (big[k] != (char)i)
            ok = 0;
    if ((i % 2 == 0) != (errno == EBADF))
        ok = 0;
    unsigned long fs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    fs_of[i] = fs;
    if (fs != (unsigned long)pthread_self())
        ok = 0;
    results[i] = ok;
    pthread_barrier_wait(&all_alive); /* so no thread reuses another's stack and TCB */
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

int main(void) {
    default_signals();
    CHECK(pthread_key_create(&key, destructor) == 0);
    CHECK(pthread_barrier_init(&all_alive, NULL, NT) == 0);
    tvar = 99;
    memset(big, 0x7f, sizeof big);
    pthread_t t[NT];
    for (long i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < NT; i++)
        printf("thread %d: initializer seen, own value/array/errno kept, FS base == pthread_self: %s\n", i,
               results[i] ? "yes" : "no");
    int distinct = 1;
    unsigned long main_fs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &main_fs);
    for (int i = 0; i < NT; i++) {
        if (fs_of[i] == main_fs)
            distinct = 0;
        for (int j = i + 1; j < NT; j++)
            if (fs_of[i] == fs_of[j])
                distinct = 0;
    }
    printf("FS bases distinct: %s\n", distinct ? "yes" : "no");
    printf("main thread's values untouched: tvar=%d big[100]=0x%x\n", tvar, big[100]);
    printf("destructor values summed: %d (expected %d)\n", destructed_sum, NT * (NT + 1) / 2);
    return finish();
}
