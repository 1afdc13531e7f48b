/* System-wide /proc files: meminfo against sysinfo(2), cpuinfo against sysconf, stat,
 * uptime, loadavg, version against uname, filesystems, /proc/sys/{kernel,fs,vm}; writes
 * to read-only files fail; getdents of /proc lists "self" and our pid. Prints
 * properties, never the host's values. */
#define _GNU_SOURCE
#include "common.h"
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>

static char text[1 << 16];

/* Reads a whole file into `text` (NUL-terminated); returns its length or -1. */
static long slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long len = 0;
    ssize_t n;
    while ((n = read(fd, text + len, sizeof text - 1 - len)) > 0)
        len += n;
    close(fd);
    text[len] = 0;
    return n < 0 ? -1 : len;
}

/* The value of "Key:   N kB" in /proc/meminfo (text), in kB; -1 if absent. */
static long long meminfo_kb(const char *key) {
    char want[64];
    snprintf(want, sizeof want, "\n%s:", key);
    char *p = strstr(text, want);
    if (!p && !strncmp(text, want + 1, strlen(want + 1)))
        p = text - 1;
    if (!p)
        return -1;
    long long v;
    char unit[8];
    if (sscanf(p + strlen(want), " %lld %7s", &v, unit) != 2 || strcmp(unit, "kB"))
        return -1;
    return v;
}

static int is_uint_line(const char *s) {
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return !strcmp(s, "\n");
}

static int is_uuid_line(const char *s) {
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    }
    return !strcmp(s + 36, "\n");
}

int main(void) {
    struct utsname u;
    CHECK(uname(&u) == 0);
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);

    /* meminfo */
    CHECK(slurp("/proc/meminfo") > 0);
    long long total = meminfo_kb("MemTotal"), mfree = meminfo_kb("MemFree"),
              avail = meminfo_kb("MemAvailable");
    CHECK(total > 0 && mfree > 0 && avail > 0);
    CHECK(mfree <= total && avail <= total);
    long long si_total_kb = (long long)si.totalram * si.mem_unit / 1024;
    CHECK(total == si_total_kb || total == si_total_kb + 1 || total + 1 == si_total_kb);
    CHECK(!strncmp(text, "MemTotal:", 9));

    /* cpuinfo: one "processor" line per online CPU. */
    CHECK(slurp("/proc/cpuinfo") > 0);
    long procs = 0;
    for (char *p = text; (p = strstr(p, "processor\t:")); p++)
        if (p == text || p[-1] == '\n')
            procs++;
    CHECK(procs == sysconf(_SC_NPROCESSORS_ONLN));

    /* stat: "cpu " then cpuN lines, btime in the past. */
    CHECK(slurp("/proc/stat") > 0);
    CHECK(!strncmp(text, "cpu ", 4));
    long cpulines = 0;
    for (char *p = text; (p = strstr(p, "\ncpu")); p++)
        if (isdigit((unsigned char)p[4]))
            cpulines++;
    CHECK(cpulines == sysconf(_SC_NPROCESSORS_ONLN));
    char *bt = strstr(text, "\nbtime ");
    long long btime = 0;
    CHECK(bt && sscanf(bt + 7, "%lld", &btime) == 1);
    CHECK(btime > 0 && btime <= (long long)time(NULL));
    CHECK(strstr(text, "\nprocesses ") != NULL && strstr(text, "\nctxt ") != NULL);

    /* uptime: two non-negative floats, the first positive. */
    CHECK(slurp("/proc/uptime") > 0);
    double up = -1, idle = -1;
    char nl = 0;
    CHECK(sscanf(text, "%lf %lf%c", &up, &idle, &nl) == 3 && nl == '\n');
    CHECK(up > 0 && idle >= 0);
    CHECK(up + 1 >= si.uptime);

    /* loadavg: "a b c running/total lastpid". */
    CHECK(slurp("/proc/loadavg") > 0);
    double l1, l5, l15;
    int running, threads, last;
    CHECK(sscanf(text, "%lf %lf %lf %d/%d %d%c", &l1, &l5, &l15, &running, &threads, &last, &nl) == 7 && nl == '\n');
    CHECK(l1 >= 0 && l5 >= 0 && l15 >= 0 && running >= 1 && threads >= running && last > 0);

    /* version */
    CHECK(slurp("/proc/version") > 0);
    CHECK(!strncmp(text, "Linux version ", 14));
    CHECK(!strncmp(text + 14, u.release, strlen(u.release)) && text[14 + strlen(u.release)] == ' ');
    CHECK(text[strlen(text) - 1] == '\n');

    /* filesystems */
    CHECK(slurp("/proc/filesystems") > 0);
    CHECK(strstr(text, "nodev\ttmpfs\n") != NULL);
    CHECK(strstr(text, "nodev\tproc\n") != NULL);
    CHECK(strstr(text, "nodev\tsysfs\n") != NULL);

    /* /proc/sys */
    char want[128];
    CHECK(slurp("/proc/sys/kernel/ostype") > 0 && !strcmp(text, "Linux\n"));
    snprintf(want, sizeof want, "%s\n", u.release);
    CHECK(slurp("/proc/sys/kernel/osrelease") > 0 && !strcmp(text, want));
    snprintf(want, sizeof want, "%s\n", u.nodename);
    CHECK(slurp("/proc/sys/kernel/hostname") > 0 && !strcmp(text, want));
    CHECK(slurp("/proc/sys/kernel/pid_max") > 0 && is_uint_line(text) && atol(text) > getpid());
    char boot[64] = {0};
    CHECK(slurp("/proc/sys/kernel/random/boot_id") > 0 && is_uuid_line(text));
    memcpy(boot, text, sizeof boot - 1);
    CHECK(slurp("/proc/sys/kernel/random/boot_id") > 0 && !strcmp(text, boot));
    CHECK(slurp("/proc/sys/kernel/random/uuid") > 0 && is_uuid_line(text) && text[14] == '4');
    memcpy(boot, text, sizeof boot - 1);
    CHECK(slurp("/proc/sys/kernel/random/uuid") > 0 && strcmp(text, boot) != 0);
    CHECK(slurp("/proc/sys/fs/pipe-max-size") > 0 && is_uint_line(text) && atol(text) >= 4096);
    CHECK(slurp("/proc/sys/vm/overcommit_memory") > 0 && strlen(text) == 2 && text[0] >= '0' && text[0] <= '2');

    /* Modes and writes. */
    struct stat st;
    CHECK(stat("/proc/meminfo", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0444);
    CHECK(stat("/proc/sys/kernel", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("/proc", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0555);
    /* Root may open a 0444 proc file for writing, but writing fails; the sysctls'
     * modes bind root too. Nothing is ever written successfully. */
    int fd = open("/proc/meminfo", O_WRONLY);
    CHECK(fd >= 0);
    EXPECT_ERRNO(write(fd, "x", 1), EIO);
    close(fd);
    fd = open("/proc/version", O_RDONLY);
    EXPECT_ERRNO(write(fd, "x", 1), EBADF);
    close(fd);
    fd = open("/proc/uptime", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && slurp("/proc/uptime") > 0);
    close(fd);
    CHECK(stat("/proc/sys/kernel/ostype", &st) == 0 && (st.st_mode & 0777) == 0444);
    CHECK(stat("/proc/sys/kernel/osrelease", &st) == 0 && (st.st_mode & 0777) == 0444);
    CHECK(stat("/proc/sys/kernel/random/boot_id", &st) == 0 && (st.st_mode & 0777) == 0444);
    CHECK(stat("/proc/sys/kernel/hostname", &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(stat("/proc/sys/kernel/pid_max", &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(stat("/proc/sys/vm/overcommit_memory", &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(stat("/proc/sys/kernel", &st) == 0 && (st.st_mode & 0777) == 0555);
    EXPECT_ERRNO(open("/proc/sys/kernel/ostype", O_WRONLY), EACCES);
    EXPECT_ERRNO(open("/proc/sys/kernel/osrelease", O_RDWR), EACCES);
    EXPECT_ERRNO(open("/proc/sys/kernel/random/boot_id", O_WRONLY), EACCES);
    /* New names do not exist in proc; existing ones cannot be removed. */
    EXPECT_ERRNO(open("/proc/newfile", O_WRONLY | O_CREAT, 0644), ENOENT);
    EXPECT_ERRNO(mkdir("/proc/newdir", 0755), ENOENT);
    EXPECT_ERRNO(symlink("x", "/proc/newlink"), ENOENT);
    EXPECT_ERRNO(mkdir("/proc/sys/kernel/newdir", 0755), ENOENT);
    EXPECT_ERRNO(open("/proc/sys/kernel/newfile", O_WRONLY | O_CREAT, 0644), ENOENT);
    EXPECT_ERRNO(mkdir("/proc/meminfo", 0755), EEXIST);
    EXPECT_ERRNO(symlink("x", "/proc/meminfo"), EEXIST);
    EXPECT_ERRNO(open("/proc/meminfo", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    EXPECT_ERRNO(unlink("/proc/meminfo"), EPERM);
    EXPECT_ERRNO(rmdir("/proc/sys"), EPERM);
    EXPECT_ERRNO(unlink("/proc/sys/kernel/ostype"), EACCES);
    EXPECT_ERRNO(rmdir("/proc/sys/kernel"), EACCES);
    EXPECT_ERRNO(rename("/proc/meminfo", "/proc/x"), ENOENT);
    EXPECT_ERRNO(open("/proc/nonexistent", O_RDONLY), ENOENT);

    /* getdents of /proc: "self" (a symlink) and our pid (a directory). */
    DIR *d = opendir("/proc");
    CHECK(d != NULL);
    char mypid[32];
    snprintf(mypid, sizeof mypid, "%d", getpid());
    int self = 0, me = 0, meminfo = 0, dot = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, "self") && e->d_type == DT_LNK)
            self = 1;
        if (!strcmp(e->d_name, mypid) && e->d_type == DT_DIR)
            me = 1;
        if (!strcmp(e->d_name, "meminfo") && e->d_type == DT_REG)
            meminfo = 1;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            dot++;
    }
    if (d)
        closedir(d);
    CHECK(self && me && meminfo && dot == 2);
    char link[64] = {0};
    CHECK(readlink("/proc/self", link, sizeof link - 1) > 0 && !strcmp(link, mypid));
    return finish();
}
