/* timer_getoverrun(2): while a timer's signal is blocked and pending, expirations only
 * count as overruns; the delivered siginfo's si_overrun and timer_getoverrun agree; a
 * later pending signal does not change what timer_getoverrun reports until it is
 * delivered; sigwaitinfo(2) takes it the same way; deleting or re-arming the timer
 * drops its pending signal. */
#include "common.h"
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t got;
static volatile int ov = -1;

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    got++;
    ov = si->si_overrun;
}

static void sleep_ms(long ms) {
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGRTMIN, &sa, NULL) == 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
    struct itimerspec per = {{0, 10 * 1000000}, {0, 10 * 1000000}};
    CHECK(timer_settime(t, 0, &per, NULL) == 0);
    sleep_ms(105);
    CHECK(timer_getoverrun(t) == 0);
    sigset_t pend;
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGRTMIN) == 1);
    /* One signal queued, not ten. */
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(got == 1);
    printf("si_overrun about 9: %s\n", ov >= 8 && ov <= 30 ? "yes" : "no");
    int first = timer_getoverrun(t);
    CHECK(first == ov);

    /* Blocked again: the next signal collects its own overruns; getoverrun still
     * reports the delivered one's. */
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    sleep_ms(55);
    CHECK(timer_getoverrun(t) == first);
    siginfo_t si;
    CHECK(sigwaitinfo(&set, &si) == SIGRTMIN);
    CHECK(si.si_code == SI_TIMER);
    printf("second si_overrun about 4: %s\n", si.si_overrun >= 3 && si.si_overrun <= 30 ? "yes" : "no");
    CHECK(timer_getoverrun(t) == si.si_overrun);
    CHECK(got == 1);

    /* Re-arming drops the pending signal and the counts. */
    sleep_ms(25);
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGRTMIN) == 1);
    struct itimerspec far = {{0, 0}, {10, 0}};
    CHECK(timer_settime(t, 0, &far, NULL) == 0);
    CHECK(timer_getoverrun(t) == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(got == 1);

    /* Deleting drops it too. */
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(timer_settime(t, 0, &per, NULL) == 0);
    sleep_ms(25);
    CHECK(timer_delete(t) == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(got == 1);

    /* An ignored signal is dropped and counts nothing. */
    signal(SIGUSR2, SIG_IGN);
    struct sigevent iev = ev;
    iev.sigev_signo = SIGUSR2;
    timer_t it;
    CHECK(timer_create(CLOCK_MONOTONIC, &iev, &it) == 0);
    CHECK(timer_settime(it, 0, &per, NULL) == 0);
    sleep_ms(35);
    CHECK(timer_getoverrun(it) == 0);
    CHECK(timer_delete(it) == 0);
    return finish();
}
