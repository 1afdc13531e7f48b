/* Synchronisation stress with 8 threads, printing only final counts: a mutex
 * protecting a counter (8 x 10000 increments), a bounded buffer with condition
 * variables (4 producers x 5000 items, 4 consumers; the sum of the items and
 * the count per producer come out exact), a barrier crossed 100 times, an
 * rwlock with readers checking an invariant the writers keep, and atomic
 * fetch-add next to it. */
#include "common.h"
#include <signal.h>
#include <pthread.h>

#define NT 8
#define INCS 10000
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long atomic_counter;

static void *incrementer(void *a) {
    (void)a;
    for (int i = 0; i < INCS; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
        __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

#define CAP 16
#define ITEMS 5000
static int buf[CAP];
static int head, tail, count, done_producers;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long consumed_sum, per_producer[4];

static void *producer(void *a) {
    long id = (long)a;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&mu);
        while (count == CAP)
            pthread_cond_wait(&not_full, &mu);
        buf[tail] = (int)(id * 100000 + i);
        tail = (tail + 1) % CAP;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    done_producers++;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *consumer(void *a) {
    (void)a;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (count == 0 && done_producers < 4)
            pthread_cond_wait(&not_empty, &mu);
        if (count == 0) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        int v = buf[head];
        head = (head + 1) % CAP;
        count--;
        consumed_sum += v % 100000;
        per_producer[v / 100000]++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&mu);
    }
}

static pthread_barrier_t bar;
static int phase_counts[100];
static void *barrier_user(void *a) {
    (void)a;
    for (int p = 0; p < 100; p++) {
        __atomic_fetch_add(&phase_counts[p], 1, __ATOMIC_RELAXED);
        pthread_barrier_wait(&bar);
        /* Everyone has counted this phase before anyone goes on. */
        if (__atomic_load_n(&phase_counts[p], __ATOMIC_RELAXED) != NT)
            return (void *)1L;
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long pair_a, pair_b;
static void *rw_user(void *a) {
    long id = (long)a;
    long bad = 0;
    for (int i = 0; i < 5000; i++) {
        if (id < 2) {
            pthread_rwlock_wrlock(&rw);
            pair_a++;
            pair_b--;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            if (pair_a + pair_b != 0)
                bad++;
            pthread_rwlock_unlock(&rw);
        }
    }
    return (void *)bad;
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
    pthread_t t[NT];
    for (long i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, incrementer, (void *)i) == 0);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    printf("mutex counter: %ld (expected %d)\n", counter, NT * INCS);
    printf("atomic counter: %ld\n", atomic_counter);

    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, producer, (void *)i) == 0);
    for (long i = 4; i < 8; i++)
        CHECK(pthread_create(&t[i], NULL, consumer, NULL) == 0);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    printf("consumed sum: %ld (expected %ld)\n", consumed_sum, 4L * ITEMS * (ITEMS + 1) / 2);
    printf("items per producer: %ld %ld %ld %ld, left in buffer %d\n", per_producer[0], per_producer[1],
           per_producer[2], per_producer[3], count);

    CHECK(pthread_barrier_init(&bar, NULL, NT) == 0);
    long bad = 0;
    for (long i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, barrier_user, NULL) == 0);
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("barrier: 100 phases, threads that saw an incomplete phase: %ld\n", bad);
    pthread_barrier_destroy(&bar);

    bad = 0;
    for (long i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, rw_user, (void *)i) == 0);
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("rwlock: pair_a=%ld, readers that saw a torn pair: %ld\n", pair_a, bad);
    return finish();
}
