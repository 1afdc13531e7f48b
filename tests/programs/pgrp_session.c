/* Process groups and sessions, exercised in children (the program itself may
 * or may not be a group or session leader, so it never changes its own):
 * a child starts in our group and session; setpgid(0, 0) makes it a group
 * leader, after which setsid is EPERM; its child calls setsid and becomes
 * session and group leader (getsid/getpgrp == its pid), a second setsid is
 * EPERM, any setpgid by a session leader is EPERM, and the getsid/
 * getpgid views of each other from both sides. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static int check_child(pid_t c) {
    int st;
    if (waitpid(c, &st, 0) != c)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
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
    pid_t my_pgrp = getpgrp(), my_sid = getsid(0);
    CHECK(getpgid(0) == my_pgrp && getpgid(getpid()) == my_pgrp);
    /* 0 when our session's leader is outside our PID namespace (as in a
     * container whose init did not call setsid). */
    CHECK(my_sid >= 0);
    int rep[2], go[2];
    CHECK(pipe(rep) == 0 && pipe(go) == 0);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        printf("child: starts in our group: %s, our session: %s\n", getpgrp() == my_pgrp ? "yes" : "no",
               getsid(0) == my_sid ? "yes" : "no");
        CHECK(setpgid(0, 0) == 0);
        printf("child: after setpgid(0,0) leads its group: %s, same session: %s\n",
               getpgrp() == getpid() ? "yes" : "no", getsid(0) == my_sid ? "yes" : "no");
        EXPECT_ERRNO(setsid(), EPERM);
        pid_t apid = getpid();
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) {
            printf("grandchild: inherits the child's group: %s\n", getpgrp() == apid ? "yes" : "no");
            pid_t s = setsid();
            printf("grandchild: setsid returned its pid: %s\n", s == getpid() ? "yes" : "no");
            printf("grandchild: getsid(0)==pid: %s, getpgrp()==pid: %s\n", getsid(0) == getpid() ? "yes" : "no",
                   getpgrp() == getpid() ? "yes" : "no");
            EXPECT_ERRNO(setsid(), EPERM);
            EXPECT_ERRNO(setpgid(0, apid), EPERM);
            /* A session leader cannot change its group, even to its own. */
            EXPECT_ERRNO(setpgid(0, 0), EPERM);
            EXPECT_ERRNO(setpgid(0, getpid()), EPERM);
            printf("grandchild: sees the child's session unchanged: %s, group: %s\n",
                   getsid(apid) == my_sid ? "yes" : "no", getpgid(apid) == apid ? "yes" : "no");
            fflush(stdout);
            _exit(failures);
        }
        int gs = check_child(g);
        printf("child: grandchild status %d\n", gs);
        fflush(stdout);
        _exit(failures + gs);
    }
    int cs = check_child(a);
    printf("child status %d\n", cs);
    CHECK(cs == 0);

    /* A session leader's view from its parent: getsid of the child changes. */
    fflush(stdout);
    pid_t b = fork();
    if (b == 0) {
        close(rep[0]);
        close(go[1]);
        pid_t s = setsid();
        char ok = s == getpid() ? 'y' : 'n';
        if (write(rep[1], &ok, 1) != 1)
            _exit(1);
        char x;
        if (read(go[0], &x, 1) != 0)
            _exit(2);
        _exit(0);
    }
    close(rep[1]);
    close(go[0]);
    char ok = 0;
    CHECK(read(rep[0], &ok, 1) == 1);
    printf("second child setsid ok: %c\n", ok);
    printf("parent: getsid(child)==child: %s, getpgid(child)==child: %s\n", getsid(b) == b ? "yes" : "no",
           getpgid(b) == b ? "yes" : "no");
    EXPECT_ERRNO(setpgid(b, my_pgrp), EPERM);
    EXPECT_ERRNO(setpgid(b, b), EPERM);
    printf("our own session and group unchanged: %s\n", getsid(0) == my_sid && getpgrp() == my_pgrp ? "yes" : "no");
    close(go[1]);
    printf("second child status %d\n", check_child(b));
    return finish();
}
