/* capget(2)/capset(2) and prctl's capability options (capabilities(7)), run as root:
 * header versions, the probe with NULL data, another thread by tid, the subset rules,
 * the bounding and ambient sets, keepcaps and securebits, and /proc/self/status. Each
 * step runs in a child so the parent keeps its capabilities. */
#include "common.h"
#include <linux/capability.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int capget_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d) {
    return syscall(SYS_capget, h, d);
}
static int capset_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d) {
    return syscall(SYS_capset, h, d);
}

static void get3(struct __user_cap_data_struct d[2]) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    memset(d, 0, 2 * sizeof(*d));
    if (capget_(&h, d) != 0) {
        printf("FAIL capget %s\n", errname(errno));
        failures++;
    }
}

static int set3(uint64_t e, uint64_t p, uint64_t i) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)e, (uint32_t)p, (uint32_t)i},
        {(uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(i >> 32)},
    };
    return capset_(&h, d);
}

static uint64_t eff(void) {
    struct __user_cap_data_struct d[2];
    get3(d);
    return d[0].effective | (uint64_t)d[1].effective << 32;
}
static uint64_t prm(void) {
    struct __user_cap_data_struct d[2];
    get3(d);
    return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/* Prints the Cap and NoNewPrivs lines of /proc/self/status. */
static void status_caps(const char *when) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    if (!f) {
        printf("FAIL fopen status\n");
        failures++;
        return;
    }
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10))
            printf("%s %s", when, line);
    fclose(f);
}

static volatile int thread_stop, thread_ready;
static void *spin(void *arg) {
    (void)arg;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    set3(1 << CAP_KILL, 1 << CAP_KILL | 1 << CAP_CHOWN, 0);
    thread_ready = 1;
    while (!thread_stop)
        usleep(1000);
    return NULL;
}

static void in_child(void (*fn)(void)) {
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
        printf("FAIL child status %#x\n", st);
        failures++;
    }
}

static void versions(void) {
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    EXPECT_ERRNO(capget_(&h, d), EINVAL);
    printf("preferred version %#x\n", h.version);
    h.version = 0x12345678;
    CHECK(capget_(&h, NULL) == 0);
    printf("probe wrote %#x\n", h.version);
    h.version = _LINUX_CAPABILITY_VERSION_1;
    CHECK(capget_(&h, NULL) == 0);
    memset(d, 0xff, sizeof d);
    CHECK(capget_(&h, d) == 0);
    printf("v1 eff %#x second word untouched %d\n", d[0].effective, d[1].effective == 0xffffffffu);
    h.version = _LINUX_CAPABILITY_VERSION_2;
    CHECK(capget_(&h, d) == 0);
    printf("v2 eff %#x %#x\n", d[0].effective, d[1].effective);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -1;
    EXPECT_ERRNO(capget_(&h, d), EINVAL);
    h.pid = 999999;
    EXPECT_ERRNO(capget_(&h, d), ESRCH);
    h.pid = 1 << 30;
    EXPECT_ERRNO(capset_(&h, d), EPERM);
    h.pid = getpid();
    CHECK(capget_(&h, d) == 0);
    h.version = 0x1;
    EXPECT_ERRNO(capset_(&h, d), EINVAL);
    printf("capset wrote %#x\n", h.version);
    EXPECT_ERRNO(capget_((void *)1, d), EFAULT);
}

static void subset_rules(void) {
    uint64_t all = prm();
    uint64_t kill = 1ull << CAP_KILL, chown = 1ull << CAP_CHOWN;
    EXPECT_ERRNO(set3(kill | chown, kill, 0), EPERM); /* effective outside permitted */
    CHECK(set3(kill, kill | chown, 0) == 0);
    printf("eff %#llx prm %#llx\n", (unsigned long long)eff(), (unsigned long long)prm());
    EXPECT_ERRNO(set3(kill, all, 0), EPERM);           /* permitted grows */
    /* Without CAP_SETPCAP the inheritable set stays within permitted. */
    EXPECT_ERRNO(set3(kill, kill | chown, 1ull << CAP_SYS_ADMIN), EPERM);
    CHECK(set3(kill, kill | chown, chown) == 0);
    CHECK(set3(0, kill, chown) == 0); /* inheritable may keep what it had */
    EXPECT_ERRNO(set3(kill, kill | chown, chown), EPERM); /* chown is no longer permitted */
    status_caps("subset");
}

static void bounding_ambient(void) {
    printf("bset read sys_admin %d\n", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN));
    EXPECT_ERRNO(prctl(PR_CAPBSET_READ, 64), EINVAL);
    EXPECT_ERRNO(prctl(PR_CAPBSET_READ, -1), EINVAL);
    CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) == 0);
    printf("bset read sys_admin %d\n", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN));
    EXPECT_ERRNO(prctl(PR_CAPBSET_DROP, 99), EINVAL);
    /* Ambient: needs permitted and inheritable. */
    EXPECT_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0), EPERM);
    uint64_t p = prm();
    CHECK(set3(p, p, 1ull << CAP_KILL | 1ull << CAP_NET_RAW) == 0);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == 0);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) == 0);
    printf("ambient kill %d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0));
    EXPECT_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 77, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_CAP_AMBIENT, 9, CAP_KILL, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0), EINVAL);
    status_caps("ambient");
    /* Dropping an inheritable capability drops it from the ambient set. */
    CHECK(set3(p, p, 1ull << CAP_NET_RAW) == 0);
    printf("ambient kill %d net_raw %d\n",
           prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0),
           prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0) == 0);
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0);
    /* Without CAP_SETPCAP the bounding set cannot be changed. */
    CHECK(set3(p & ~(1ull << CAP_SETPCAP), p, 0) == 0);
    EXPECT_ERRNO(prctl(PR_CAPBSET_DROP, CAP_KILL), EPERM);
    status_caps("bounding");
}

static void securebits(void) {
    printf("keepcaps %d securebits %#x\n", prctl(PR_GET_KEEPCAPS), prctl(PR_GET_SECUREBITS));
    EXPECT_ERRNO(prctl(PR_SET_KEEPCAPS, 2), EINVAL);
    CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0);
    printf("keepcaps %d securebits %#x\n", prctl(PR_GET_KEEPCAPS), prctl(PR_GET_SECUREBITS));
    EXPECT_ERRNO(prctl(PR_SET_SECUREBITS, 1 << 30), EPERM);
    /* Lock keepcaps on. */
    CHECK(prctl(PR_SET_SECUREBITS, (1 << 4) | (1 << 5)) == 0);
    EXPECT_ERRNO(prctl(PR_SET_KEEPCAPS, 0), EPERM);
    EXPECT_ERRNO(prctl(PR_SET_SECUREBITS, 1 << 4), EPERM);
    printf("keepcaps %d securebits %#x\n", prctl(PR_GET_KEEPCAPS), prctl(PR_GET_SECUREBITS));
}

static void other_thread(void) {
    pthread_t th;
    pthread_create(&th, NULL, spin, NULL);
    /* Until the thread has changed its sets (however slowly it is scheduled). */
    while (!thread_ready)
        usleep(1000);
    /* The thread changed its own sets only. */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    pid_t tid = 0;
    /* The thread's tid: the other entry of /proc/self/task. */
    char path[64];
    for (pid_t t = getpid() + 1; t < getpid() + 64 && !tid; t++) {
        snprintf(path, sizeof path, "/proc/self/task/%d", t);
        if (access(path, F_OK) == 0)
            tid = t;
    }
    h.pid = tid;
    CHECK(tid != 0 && capget_(&h, d) == 0);
    printf("thread eff %#x prm %#x\n", d[0].effective, d[0].permitted);
    h.pid = 0;
    capget_(&h, d);
    printf("self eff is full %d\n", (d[0].effective | (uint64_t)d[1].effective << 32) == prm());
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    FILE *s = fopen(path, "r");
    char line[256];
    while (s && fgets(line, sizeof line, s))
        if (!strncmp(line, "CapEff", 6) || !strncmp(line, "CapPrm", 6))
            printf("thread %s", line);
    if (s)
        fclose(s);
    thread_stop = 1;
    pthread_join(th, NULL);
}

int main(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return finish();
    }
    status_caps("start");
    in_child(versions);
    in_child(subset_rules);
    in_child(bounding_ambient);
    in_child(securebits);
    in_child(other_thread);
    return finish();
}
