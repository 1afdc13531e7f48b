/* File times: utimensat (explicit, UTIME_NOW, UTIME_OMIT, symlinks, the fd form,
 * errors), utimes, futimesat, utime; what chmod, write, truncate and reads do to
 * ctime, mtime and atime. Times are compared, never printed. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <utime.h>

static struct stat st_of(const char *p) {
    struct stat st;
    memset(&st, 0, sizeof st);
    if (lstat(p, &st) != 0)
        printf("lstat %s: %s\n", p, errname(errno));
    return st;
}

static int ts_eq(struct timespec a, long sec, long nsec) { return a.tv_sec == sec && a.tv_nsec == nsec; }
static int ts_le(struct timespec a, struct timespec b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}
static int ts_lt(struct timespec a, struct timespec b) { return ts_le(a, b) && !ts_le(b, a); }

/* Whether t is "now": within a second of the real clock (file times are coarse). */
static int is_now(struct timespec t) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long d = (long)(now.tv_sec - t.tv_sec);
    return d >= -1 && d <= 1;
}

static void tick(void) {
    struct timespec d = {0, 30 * 1000 * 1000};
    nanosleep(&d, NULL);
}

int main(void) {
    char dir[] = "/tmp/tm-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0 && write(fd, "hello", 5) == 5);
    CHECK(symlink("f", "l") == 0);
    struct stat st = st_of("f");
    CHECK(is_now(st.st_atim) && is_now(st.st_mtim) && is_now(st.st_ctim));

    /* Explicit times with nanoseconds; ctime moves on. */
    struct timespec c0 = st.st_ctim;
    tick();
    struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
    CHECK(utimensat(AT_FDCWD, "f", ts, 0) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_atim, 1000000000, 123456789) && ts_eq(st.st_mtim, 1100000000, 987654321));
    CHECK(ts_lt(c0, st.st_ctim) && is_now(st.st_ctim));
    /* UTIME_OMIT keeps one, UTIME_NOW sets the other to now. */
    struct timespec on[2] = {{0, UTIME_OMIT}, {5, UTIME_NOW}};
    CHECK(utimensat(AT_FDCWD, "f", on, 0) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_atim, 1000000000, 123456789) && is_now(st.st_mtim));
    struct timespec no[2] = {{7, UTIME_NOW}, {0, UTIME_OMIT}};
    CHECK(utimensat(AT_FDCWD, "f", ts, 0) == 0 && utimensat(AT_FDCWD, "f", no, 0) == 0);
    st = st_of("f");
    CHECK(is_now(st.st_atim) && ts_eq(st.st_mtim, 1100000000, 987654321));
    /* Both omitted: nothing changes, not even ctime. */
    CHECK(utimensat(AT_FDCWD, "f", ts, 0) == 0);
    c0 = st_of("f").st_ctim;
    tick();
    struct timespec oo[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    CHECK(utimensat(AT_FDCWD, "f", oo, 0) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_ctim, c0.tv_sec, c0.tv_nsec) && ts_eq(st.st_mtim, 1100000000, 987654321));
    /* With both omitted Linux does not even look at the path or the flags. */
    CHECK(utimensat(AT_FDCWD, "missing", oo, 0x4000) == 0);
    CHECK(syscall(SYS_utimensat, 999, NULL, oo, 0) == 0);
    /* NULL: both now. */
    CHECK(utimensat(AT_FDCWD, "f", NULL, 0) == 0);
    st = st_of("f");
    CHECK(is_now(st.st_atim) && is_now(st.st_mtim));
    /* Pre-epoch and zero times are fine. */
    struct timespec old[2] = {{-1000, 5}, {0, 0}};
    CHECK(utimensat(AT_FDCWD, "f", old, 0) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_atim, -1000, 5) && ts_eq(st.st_mtim, 0, 0));

    /* AT_SYMLINK_NOFOLLOW changes the link, not the target. */
    CHECK(utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(ts_eq(st_of("l").st_mtim, 1100000000, 987654321) && ts_eq(st_of("f").st_mtim, 0, 0));
    struct timespec t2[2] = {{2000000000, 1}, {2000000000, 2}};
    CHECK(utimensat(AT_FDCWD, "l", t2, 0) == 0);
    CHECK(ts_eq(st_of("f").st_mtim, 2000000000, 2) && ts_eq(st_of("l").st_mtim, 1100000000, 987654321));

    /* Errors. */
    struct timespec bad1[2] = {{0, 1000000000}, {0, 0}};
    struct timespec bad2[2] = {{0, 0}, {0, -1}};
    EXPECT_ERRNO(utimensat(AT_FDCWD, "f", bad1, 0), EINVAL);
    /* The path is looked up before the times are checked. */
    EXPECT_ERRNO(utimensat(AT_FDCWD, "missing", bad1, 0), ENOENT);
    EXPECT_ERRNO(syscall(SYS_utimensat, 999, NULL, bad1, 0), EBADF);
    EXPECT_ERRNO(utimensat(999, "missing", bad2, 0x4000), EINVAL);
    EXPECT_ERRNO(utimensat(AT_FDCWD, "f", bad2, 0), EINVAL);
    EXPECT_ERRNO(utimensat(AT_FDCWD, "f", ts, 0x4000), EINVAL);
    EXPECT_ERRNO(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT);
    EXPECT_ERRNO(utimensat(AT_FDCWD, "f/x", ts, 0), ENOTDIR);
    EXPECT_ERRNO(utimensat(AT_FDCWD, "", ts, 0), ENOENT);
    EXPECT_ERRNO(syscall(SYS_utimensat, AT_FDCWD, "f", (struct timespec *)8, 0), EFAULT);
    EXPECT_ERRNO(syscall(SYS_utimensat, AT_FDCWD, NULL, ts, 0), EFAULT);
    EXPECT_ERRNO(syscall(SYS_utimensat, 999, NULL, ts, 0), EBADF);
    EXPECT_ERRNO(utimensat(999, "f", ts, 0), EBADF);

    /* The fd forms: a NULL path (futimens), and AT_EMPTY_PATH. */
    CHECK(futimens(fd, t2) == 0 && ts_eq(st_of("f").st_atim, 2000000000, 1));
    CHECK(syscall(SYS_utimensat, fd, NULL, ts, 0) == 0 && ts_eq(st_of("f").st_mtim, 1100000000, 987654321));
    EXPECT_ERRNO(syscall(SYS_utimensat, fd, NULL, ts, AT_SYMLINK_NOFOLLOW), EINVAL);
    int pl = open("l", O_PATH | O_NOFOLLOW), pf = open("f", O_PATH);
    EXPECT_ERRNO(syscall(SYS_utimensat, pf, NULL, ts, 0), EBADF);
    CHECK(utimensat(pf, "", t2, AT_EMPTY_PATH) == 0 && ts_eq(st_of("f").st_mtim, 2000000000, 2));
    CHECK(utimensat(pl, "", t2, AT_EMPTY_PATH) == 0 && ts_eq(st_of("l").st_mtim, 2000000000, 2));
    int ro = open("f", O_RDONLY);
    CHECK(futimens(ro, ts) == 0 && futimens(ro, NULL) == 0 && is_now(st_of("f").st_mtim));

    /* utimes (microseconds), futimesat, utime (seconds). */
    struct timeval tv[2] = {{1200000000, 5}, {1300000000, 999999}};
    CHECK(utimes("l", tv) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_atim, 1200000000, 5000) && ts_eq(st.st_mtim, 1300000000, 999999000));
    CHECK(utimes("f", NULL) == 0 && is_now(st_of("f").st_mtim));
    struct timeval badtv[2] = {{0, 0}, {0, -1}};
    EXPECT_ERRNO(utimes("f", badtv), EINVAL);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(futimesat(dfd, "f", tv) == 0 && ts_eq(st_of("f").st_mtim, 1300000000, 999999000));
    EXPECT_ERRNO(futimesat(999, "f", tv), EBADF);
    EXPECT_ERRNO(futimesat(fd, "x", tv), ENOTDIR);
    struct utimbuf ub = {1400000000, 1500000000};
    CHECK(utime("f", &ub) == 0);
    st = st_of("f");
    CHECK(ts_eq(st.st_atim, 1400000000, 0) && ts_eq(st.st_mtim, 1500000000, 0));
    CHECK(utime("f", NULL) == 0 && is_now(st_of("f").st_atim));
    EXPECT_ERRNO(utime("missing", &ub), ENOENT);

    /* chmod, chown, link and rename change ctime only. */
    CHECK(utime("f", &ub) == 0);
    c0 = st_of("f").st_ctim;
    tick();
    CHECK(chmod("f", 0600) == 0);
    st = st_of("f");
    CHECK(ts_lt(c0, st.st_ctim) && ts_eq(st.st_mtim, 1500000000, 0) && ts_eq(st.st_atim, 1400000000, 0));
    c0 = st.st_ctim;
    tick();
    CHECK(link("f", "f2") == 0);
    st = st_of("f");
    CHECK(ts_lt(c0, st.st_ctim) && ts_eq(st.st_mtim, 1500000000, 0));
    /* Writing and truncating change mtime and ctime, not atime. */
    c0 = st.st_ctim;
    tick();
    CHECK(pwrite(fd, "x", 1, 0) == 1);
    st = st_of("f");
    CHECK(ts_lt(c0, st.st_ctim) && is_now(st.st_mtim) && ts_eq(st.st_atim, 1400000000, 0));
    CHECK(utime("f", &ub) == 0);
    CHECK(ftruncate(fd, 2) == 0);
    st = st_of("f");
    CHECK(is_now(st.st_mtim) && ts_eq(st.st_atim, 1400000000, 0) && st.st_size == 2);
    CHECK(utime("f", &ub) == 0 && truncate("f", 100) == 0);
    CHECK(is_now(st_of("f").st_mtim));
    /* A zero-length write changes nothing. */
    CHECK(utime("f", &ub) == 0 && write(fd, "", 0) == 0);
    CHECK(ts_eq(st_of("f").st_mtim, 1500000000, 0));
    /* Reading an old atime (before mtime) updates it under relatime; O_NOATIME never. */
    char buf[8];
    CHECK(pread(ro, buf, 1, 0) == 1);
    st = st_of("f");
    CHECK(is_now(st.st_atim) && ts_eq(st.st_mtim, 1500000000, 0));
    /* A second read finds atime newer than mtime and ctime: no update. */
    struct timespec a1 = st.st_atim;
    tick();
    CHECK(pread(ro, buf, 1, 0) == 1 && ts_eq(st_of("f").st_atim, a1.tv_sec, a1.tv_nsec));
    /* A read of nothing does not count; one at EOF does. */
    CHECK(utime("f", &ub) == 0 && pread(ro, buf, 0, 0) == 0);
    CHECK(ts_eq(st_of("f").st_atim, 1400000000, 0));
    CHECK(pread(ro, buf, 1, 1000) == 0 && is_now(st_of("f").st_atim));
    int na = open("f", O_RDONLY | O_NOATIME);
    CHECK(utime("f", &ub) == 0 && pread(na, buf, 1, 0) == 1);
    CHECK(ts_eq(st_of("f").st_atim, 1400000000, 0));
    /* A directory's mtime and ctime move when entries come and go. */
    struct utimbuf db = {1000, 2000};
    CHECK(utime(".", &db) == 0 && unlink("f2") == 0);
    st = st_of(".");
    CHECK(is_now(st.st_mtim) && is_now(st.st_ctim) && ts_eq(st.st_atim, 1000, 0));

    for (int i = 3; i < 20; i++)
        close(i);
    CHECK(unlink("f") == 0 && unlink("l") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
