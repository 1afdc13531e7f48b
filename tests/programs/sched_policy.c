/* Scheduling policies, changed in children: SCHED_OTHER with priority 0 at
 * start; priority ranges per policy (EINVAL for an unknown one); SCHED_BATCH
 * can be set and read back and OTHER again, SCHED_IDLE last (leaving it needs
 * privileges that differ between machines); a non-zero
 * priority for OTHER is EINVAL; SCHED_RESET_ON_FORK shows in getscheduler and
 * is cleared in a forked child, which keeps SCHED_BATCH (only real-time
 * policies and negative nice values are reset); sched_getattr/sched_setattr (nice via
 * setattr); sched_rr_get_interval works; an unprivileged process (setuid to
 * 65534, RLIMIT_RTPRIO 0) is refused SCHED_FIFO/SCHED_RR with EPERM; a pid
 * that does not exist is ESRCH. */
#include "common.h"
#include <signal.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

struct sattr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t prio;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static const char *pname(int p) {
    switch (p & ~SCHED_RESET_ON_FORK) {
    case SCHED_OTHER: return "SCHED_OTHER";
    case SCHED_FIFO: return "SCHED_FIFO";
    case SCHED_RR: return "SCHED_RR";
    case SCHED_BATCH: return "SCHED_BATCH";
    case SCHED_IDLE: return "SCHED_IDLE";
    default: return "?";
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

int main(void) {
    default_signals();
    struct sched_param sp;
    printf("start: %s, priority %d\n", pname(sched_getscheduler(0)), sched_getparam(0, &sp) == 0 ? sp.sched_priority : -1);
    int pol[] = {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR};
    for (int i = 0; i < 5; i++)
        printf("%-12s priority range %d..%d\n", pname(pol[i]), sched_get_priority_min(pol[i]),
               sched_get_priority_max(pol[i]));
    EXPECT_ERRNO(sched_get_priority_max(42), EINVAL);
    EXPECT_ERRNO(sched_get_priority_min(-1), EINVAL);
    struct timespec rr;
    CHECK(sched_rr_get_interval(0, &rr) == 0);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sp.sched_priority = 0;
        CHECK(sched_setscheduler(0, SCHED_BATCH, &sp) == 0);
        printf("  set BATCH: now %s\n", pname(sched_getscheduler(0)));
        CHECK(sched_setscheduler(0, SCHED_OTHER, &sp) == 0);
        printf("  set OTHER: now %s\n", pname(sched_getscheduler(0)));
        sp.sched_priority = 1;
        EXPECT_ERRNO(sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
        EXPECT_ERRNO(sched_setscheduler(0, 42, &sp), EINVAL);
        EXPECT_ERRNO(sched_setparam(0, &sp), EINVAL);
        /* In a process of its own: clearing the flag again would need CAP_SYS_NICE. */
        fflush(stdout);
        pid_t r = fork();
        if (r == 0) {
            sp.sched_priority = 0;
            CHECK(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp) == 0);
            int p = sched_getscheduler(0);
            printf("  BATCH|RESET_ON_FORK: %s, flag shown: %s\n", pname(p), (p & SCHED_RESET_ON_FORK) ? "yes" : "no");
            fflush(stdout);
            pid_t g = fork();
            if (g == 0) {
                int gp = sched_getscheduler(0);
                printf("    forked child: %s, flag: %s\n", pname(gp), (gp & SCHED_RESET_ON_FORK) ? "yes" : "no");
                fflush(stdout);
                _exit(0);
            }
            int gst;
            waitpid(g, &gst, 0);
            fflush(stdout);
            _exit(failures);
        }
        int st;
        waitpid(r, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

        struct sattr a;
        memset(&a, 0, sizeof a);
        CHECK(syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0);
        printf("  sched_getattr: size %u policy %s nice %d\n", a.size, pname((int)a.policy), a.nice);
        memset(&a, 0, sizeof a);
        a.size = 48;
        a.policy = SCHED_OTHER;
        a.nice = 5;
        CHECK(syscall(SYS_sched_setattr, 0, &a, 0) == 0);
        errno = 0;
        int nice_now = getpriority(PRIO_PROCESS, 0);
        printf("  after sched_setattr nice 5: policy %s, getpriority %d\n", pname(sched_getscheduler(0)), nice_now);
        EXPECT_ERRNO(syscall(SYS_sched_getattr, 0, &a, 8, 0), EINVAL);
        a.size = 48;
        EXPECT_ERRNO(syscall(SYS_sched_setattr, 0, &a, 1), EINVAL);
        /* Last, since leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE room. */
        sp.sched_priority = 0;
        CHECK(sched_setscheduler(0, SCHED_IDLE, &sp) == 0);
        printf("  set IDLE: now %s\n", pname(sched_getscheduler(0)));

        /* Unprivileged: no real-time policies. */
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_RTPRIO, &rl);
        CHECK(setgid(65534) == 0 && setuid(65534) == 0);
        sp.sched_priority = 10;
        EXPECT_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp), EPERM);
        EXPECT_ERRNO(sched_setscheduler(0, SCHED_RR, &sp), EPERM);
        fflush(stdout);
        _exit(failures);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child status %d\n", WEXITSTATUS(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT_ERRNO(sched_getscheduler(c), ESRCH);
    EXPECT_ERRNO(sched_getparam(c, &sp), ESRCH);
    EXPECT_ERRNO(sched_getscheduler(-1), EINVAL);
    printf("our policy unchanged: %s\n", pname(sched_getscheduler(0)));
    return finish();
}
