/* Root's privileges are its capabilities: with one dropped from the effective set the
 * matching operation fails as for any user (capabilities(7)). Run as root. */
#include "common.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static char path[64];

static uint64_t permitted(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {0};
    syscall(SYS_capget, &h, d);
    return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/* The effective set becomes the permitted set without `drop`. */
static void without(uint64_t drop) {
    uint64_t p = permitted();
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    uint64_t e = p & ~drop;
    struct __user_cap_data_struct d[2] = {{(uint32_t)e, (uint32_t)p, 0},
                                          {(uint32_t)(e >> 32), (uint32_t)(p >> 32), 0}};
    if (syscall(SYS_capset, &h, d) != 0) {
        printf("FAIL capset %s\n", errname(errno));
        failures++;
    }
}

#define BIT(c) (1ull << (c))

int main(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return finish();
    }
    strcpy(path, "/tmp/caps_checks.XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(chown(path, 1000, 1000) == 0);
    CHECK(chmod(path, 0600) == 0);

    /* DAC: override and read-search. */
    without(BIT(CAP_DAC_OVERRIDE));
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0); /* read-search still reads */
    close(fd);
    EXPECT_ERRNO(open(path, O_WRONLY), EACCES);
    without(BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH));
    EXPECT_ERRNO(open(path, O_RDONLY), EACCES);
    without(0);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    close(fd);

    /* Ownership. */
    without(BIT(CAP_FOWNER));
    EXPECT_ERRNO(chmod(path, 0644), EPERM);
    without(BIT(CAP_CHOWN));
    EXPECT_ERRNO(chown(path, 0, 0), EPERM);
    without(0);
    CHECK(chmod(path, 0644) == 0);
    CHECK(chown(path, 0, 0) == 0);

    /* Devices and chroot. */
    char dev[80];
    snprintf(dev, sizeof dev, "%s.dev", path);
    without(BIT(CAP_MKNOD));
    EXPECT_ERRNO(mknod(dev, S_IFCHR | 0600, makedev(1, 3)), EPERM);
    without(BIT(CAP_SYS_CHROOT));
    EXPECT_ERRNO(chroot("/"), EPERM);
    without(0);

    /* Signals to another user's process (once it is another user's: it says so). */
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t child = fork();
    if (child == 0) {
        setresuid(1000, 1000, 1000);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char said;
    CHECK(read(ready[0], &said, 1) == 1);
    without(BIT(CAP_KILL));
    EXPECT_ERRNO(kill(child, 0), EPERM);
    without(0);
    CHECK(kill(child, SIGKILL) == 0);
    waitpid(child, NULL, 0);

    /* Identity changes. */
    without(BIT(CAP_SETUID) | BIT(CAP_SETGID));
    EXPECT_ERRNO(setuid(1000), EPERM);
    EXPECT_ERRNO(setgid(1000), EPERM);
    without(0);

    /* Resource limits: raising a hard limit. */
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    struct rlimit lower = {r.rlim_cur / 2, r.rlim_max / 2};
    CHECK(setrlimit(RLIMIT_NOFILE, &lower) == 0);
    without(BIT(CAP_SYS_RESOURCE));
    EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &r), EPERM);
    without(0);

    unlink(path);
    return finish();
}
