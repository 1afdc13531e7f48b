/* /sys: the CPU lists parse and agree with sysconf and sched_getaffinity, the
 * directories exist, and changing anything fails as sysfs refuses it (never writing
 * successfully, natively either). */
#define _GNU_SOURCE
#include "common.h"
#include <ctype.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statfs.h>

/* Counts the CPUs of a list such as "0-3,5,7-8\n"; -1 when malformed. */
static long cpu_list_count(const char *s) {
    long count = 0;
    for (;;) {
        if (!isdigit((unsigned char)*s))
            return -1;
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (*end == '-') {
            if (!isdigit((unsigned char)end[1]))
                return -1;
            hi = strtol(end + 1, &end, 10);
        }
        if (hi < lo)
            return -1;
        count += hi - lo + 1;
        if (*end == ',') {
            s = end + 1;
            continue;
        }
        return !strcmp(end, "\n") ? count : -1;
    }
}

static char text[4096];

static long read_list(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = 0;
    return cpu_list_count(text);
}

int main(void) {
    struct stat st;
    CHECK(stat("/sys", &st) == 0 && S_ISDIR(st.st_mode));
    struct statfs sf;
    CHECK(statfs("/sys", &sf) == 0 && sf.f_type == 0x62656572 /* SYSFS_MAGIC */);
    CHECK(stat("/sys/devices/system/cpu", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/sys/fs/cgroup", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/sys/kernel", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/sys/class", &st) == 0 && S_ISDIR(st.st_mode));

    long online = read_list("/sys/devices/system/cpu/online");
    long possible = read_list("/sys/devices/system/cpu/possible");
    long present = read_list("/sys/devices/system/cpu/present");
    CHECK(online > 0 && possible >= online && present >= online);
    CHECK(online == sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(possible >= sysconf(_SC_NPROCESSORS_CONF) || present == sysconf(_SC_NPROCESSORS_CONF));
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) <= online);
    CHECK(stat("/sys/devices/system/cpu/online", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444);
    /* A read at the end gives nothing more; a second read from 0 the same text. */
    int fd = open("/sys/devices/system/cpu/online", O_RDONLY);
    char a[64] = {0}, b[64] = {0};
    ssize_t n = read(fd, a, sizeof a - 1);
    CHECK(n > 0 && read(fd, b, sizeof b) == 0);
    CHECK(pread(fd, b, sizeof b - 1, 0) == n && !strcmp(a, b));
    EXPECT_ERRNO(write(fd, "0", 1), EBADF);
    close(fd);
    EXPECT_ERRNO(open("/sys/devices/system/cpu/nonexistent", O_RDONLY), ENOENT);
    EXPECT_ERRNO(open("/sys/devices/system/cpu/online/", O_RDONLY), ENOTDIR);

    /* Changes fail as sysfs refuses them, root or not. */
    EXPECT_ERRNO(open("/sys/devices/system/cpu/online", O_WRONLY), EACCES);
    EXPECT_ERRNO(open("/sys/devices/system/cpu/possible", O_RDWR), EACCES);
    EXPECT_ERRNO(open("/sys/newfile", O_WRONLY | O_CREAT, 0644), EACCES);
    EXPECT_ERRNO(open("/sys/devices/system/cpu/newfile", O_RDWR | O_CREAT | O_EXCL, 0644), EACCES);
    EXPECT_ERRNO(mkdir("/sys/newdir", 0755), EPERM);
    EXPECT_ERRNO(mkdir("/sys/fs/newdir", 0755), EPERM);
    EXPECT_ERRNO(symlink("x", "/sys/newlink"), EPERM);
    EXPECT_ERRNO(unlink("/sys/devices/system/cpu/online"), EPERM);
    EXPECT_ERRNO(rmdir("/sys/kernel"), EPERM);
    EXPECT_ERRNO(mkdir("/sys/kernel", 0755), EEXIST);
    EXPECT_ERRNO(open("/sys/devices/system/cpu/online", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    EXPECT_ERRNO(open("/sys/kernel", O_RDWR), EISDIR);
    return finish();
}
