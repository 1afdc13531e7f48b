/* Process and user identity: relations between the pid, tid and ppid (their
 * values differ between runs and sandboxes), and the user/group ids. */
#include "common.h"

int main(void) {
    pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid), ppid = getppid();
    printf("pid > 0: %s\n", pid > 0 ? "yes" : "no");
    printf("gettid == getpid: %s\n", tid == pid ? "yes" : "no");
    printf("getppid != getpid: %s\n", ppid != pid ? "yes" : "no");
    printf("getppid >= 0: %s\n", ppid >= 0 ? "yes" : "no");
    CHECK(getpid() == pid && syscall(SYS_getpid) == pid);

    printf("uid %u euid %u gid %u egid %u\n", getuid(), geteuid(), getgid(), getegid());
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid() && s == geteuid());
    gid_t rg, eg, sg;
    CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == getgid() && eg == getegid() && sg == getegid());
    int n = getgroups(0, NULL);
    CHECK(n >= 0);
    printf("pgid == getpgid(0): %s\n", getpgrp() == getpgid(0) ? "yes" : "no");
    return finish();
}
