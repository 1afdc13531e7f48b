/* How uid changes and execve move the capability sets (capabilities(7) "Effect of user
 * ID changes on capabilities", "Transformation of capabilities during execve()"), run
 * as root. Each scenario runs in a child; execs re-run this program with "show". */
#include "common.h"
#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static uint64_t get(int which) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {0};
    syscall(SYS_capget, &h, d);
    uint32_t lo = which == 0 ? d[0].effective : which == 1 ? d[0].permitted : d[0].inheritable;
    uint32_t hi = which == 0 ? d[1].effective : which == 1 ? d[1].permitted : d[1].inheritable;
    return lo | (uint64_t)hi << 32;
}

static int set3(uint64_t e, uint64_t p, uint64_t i) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)e, (uint32_t)p, (uint32_t)i},
        {(uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(i >> 32)},
    };
    return syscall(SYS_capset, &h, d);
}

static void show(const char *when) {
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("%s uids %u %u %u eff %#llx prm %#llx inh %#llx amb-kill %d keepcaps %d\n", when,
           r, e, s, (unsigned long long)get(0), (unsigned long long)get(1),
           (unsigned long long)get(2), prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0),
           prctl(PR_GET_KEEPCAPS));
}

static void reexec(void) {
    fflush(stdout);
    char *argv[] = {"caps_uid", "show", NULL};
    execv("/proc/self/exe", argv);
    printf("FAIL execv %s\n", errname(errno));
    failures++;
}

static void run(const char *name, void (*fn)(void)) {
    printf("-- %s\n", name);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        fn();
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("FAIL %s status %#x\n", name, st);
        failures++;
    }
}

static void drop_all(void) {
    CHECK(setresuid(1000, 1000, 1000) == 0);
    show("after setresuid 1000");
    EXPECT_ERRNO(setuid(0), EPERM);
    EXPECT_ERRNO(setgroups(0, NULL), EPERM);
    EXPECT_ERRNO(setgid(5), EPERM);
}

static void keepcaps(void) {
    CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0);
    CHECK(setresuid(1000, 1000, 1000) == 0);
    show("keepcaps setresuid 1000");
    /* Permitted kept, effective empty: raise CAP_SETUID again, then back to root. */
    CHECK(set3(1ull << CAP_SETUID, get(1), 0) == 0);
    CHECK(setresuid(0, 0, 0) == 0);
    show("back to root");
    reexec();
}

static void euid_swap(void) {
    CHECK(seteuid(1000) == 0);
    show("euid 1000");
    CHECK(seteuid(0) == 0);
    show("euid 0");
    /* Real uid alone non-zero: nothing dropped. */
    CHECK(setresuid(1000, 0, 0) == 0);
    show("ruid 1000");
    reexec();
}

static void fsuid(void) {
    setfsuid(1000);
    show("fsuid 1000");
    setfsuid(0);
    show("fsuid 0");
    /* With a saved uid of 0 kept, the effective uid can come back. */
    CHECK(setresuid(1000, 1000, 0) == 0);
    show("suid 0");
    CHECK(seteuid(0) == 0);
    show("seteuid back");
}

static void ambient_exec(void) {
    uint64_t p = get(1);
    CHECK(set3(p, p, 1ull << CAP_KILL) == 0);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == 0);
    CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0);
    CHECK(setresuid(1000, 1000, 1000) == 0);
    show("ambient after setresuid");
    /* The ambient set went with root; raise it again as the non-root user. */
    CHECK(set3(0, get(1), 1ull << CAP_KILL) == 0);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == 0);
    show("ambient raised");
    reexec();
}

static void nonroot_exec(void) {
    CHECK(setresuid(1000, 1000, 1000) == 0);
    reexec();
}

static void bset_exec(void) {
    /* An inheritable capability outside the bounding set still reaches root's
     * permitted set; it cannot be added once dropped from the bounding set. */
    uint64_t p = get(1);
    CHECK(set3(p, p, 1ull << CAP_NET_RAW) == 0);
    CHECK(prctl(PR_CAPBSET_DROP, CAP_NET_RAW) == 0);
    CHECK(prctl(PR_CAPBSET_DROP, CAP_KILL) == 0);
    EXPECT_ERRNO(set3(p, p, 1ull << CAP_NET_RAW | 1ull << CAP_KILL), EPERM);
    show("before exec");
    reexec();
}

static void nnp_exec(void) {
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(set3(1, 1 | 1ull << CAP_KILL, 0) == 0);
    reexec();
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "show")) {
        show("exec'd");
        return 0;
    }
    if (geteuid() != 0) {
        printf("needs root\n");
        return finish();
    }
    run("drop_all", drop_all);
    run("keepcaps", keepcaps);
    run("euid_swap", euid_swap);
    run("fsuid", fsuid);
    run("ambient_exec", ambient_exec);
    run("nonroot_exec", nonroot_exec);
    run("bset_exec", bset_exec);
    run("nnp_exec", nnp_exec);
    return finish();
}
