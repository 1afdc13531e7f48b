/* set_tid_address and CLONE_CHILD_CLEARTID (what pthread_join relies on):
 * set_tid_address returns the caller's tid; a raw CLONE_THREAD thread whose
 * clear_child_tid word was set with CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID
 * has it zeroed and a FUTEX_WAIT on it woken when the thread exits; a thread
 * that moves its clear_child_tid with set_tid_address clears the new word;
 * a CLONE_VM process (not a thread) is cleared too; a fork-like child's clear
 * happens in its own copy, so the parent's word keeps the tid. */
#include "common.h"
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static char stack1[1 << 16] __attribute__((aligned(16)));
static char stack2[1 << 16] __attribute__((aligned(16)));
static volatile pid_t ctid, ctid2, moved_word = 12345;
static volatile long child_ret;
static int go;

static long futex(volatile void *addr, int op, int val) {
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* Thread bodies use raw syscalls only: they share the main thread's TLS. */
static int thread_fn(void *a) {
    (void)a;
    while (__atomic_load_n(&go, __ATOMIC_ACQUIRE) == 0)
        futex(&go, FUTEX_WAIT, 0);
    return 0;
}
static int mover_fn(void *a) {
    (void)a;
    child_ret = syscall(SYS_set_tid_address, &moved_word);
    return 0;
}

static int wait_cleared(volatile pid_t *word) {
    for (int i = 0; i < 100; i++) {
        pid_t v = *word;
        if (v == 0)
            return 1;
        struct timespec ts = {1, 0};
        syscall(SYS_futex, word, FUTEX_WAIT, v, &ts, NULL, 0);
    }
    return 0;
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
    int dummy;
    long r = syscall(SYS_set_tid_address, &dummy);
    printf("set_tid_address returns our tid: %s\n", r == syscall(SYS_gettid) ? "yes" : "no");

    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    pid_t t = clone(thread_fn, stack1 + sizeof stack1, flags, NULL, &ctid, NULL, &ctid);
    CHECK(t > 0);
    printf("CLONE_PARENT_SETTID stored the new tid: %s\n", ctid == t ? "yes" : "no");
    printf("thread is in our thread group: %s\n", syscall(SYS_tgkill, getpid(), t, 0) == 0 ? "yes" : "no");
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    futex(&go, FUTEX_WAKE, 1);
    printf("thread exit cleared the word and woke the futex: %s\n", wait_cleared(&ctid) ? "yes" : "no");

    /* The thread moves its clear_child_tid address. */
    ctid2 = 0;
    t = clone(mover_fn, stack2 + sizeof stack2, flags, NULL, &ctid2, NULL, &ctid2);
    CHECK(t > 0);
    printf("moved word cleared: %s\n", wait_cleared(&moved_word) ? "yes" : "no");
    printf("set_tid_address in the thread returned its tid: %s\n", child_ret == t ? "yes" : "no");
    printf("original word not cleared: %s\n", ctid2 == t ? "yes" : "no");

    /* A CLONE_VM process (own thread group, SIGCHLD) clears too. */
    ctid = 0;
    go = 1;
    pid_t p = clone(thread_fn, stack1 + sizeof stack1, CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD,
                    NULL, &ctid, NULL, &ctid);
    CHECK(p > 0);
    int st;
    CHECK(waitpid(p, &st, 0) == p);
    printf("CLONE_VM process exit cleared the word: %s\n", wait_cleared(&ctid) ? "yes" : "no");

    /* Without CLONE_VM the clear lands in the child's copy. */
    ctid = 0;
    p = clone(thread_fn, stack1 + sizeof stack1, CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, NULL, &ctid,
              NULL, &ctid);
    CHECK(p > 0);
    CHECK(waitpid(p, &st, 0) == p);
    printf("separate-memory child: our word still holds its tid: %s\n", ctid == p ? "yes" : "no");
    return finish();
}
