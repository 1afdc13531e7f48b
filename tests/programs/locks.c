/* Record locks (POSIX and OFD) and flock: ranges from each l_whence, negative
 * and zero lengths, splitting, conflicts between open file descriptions, what
 * F_GETLK reports, the errors, and which closes drop which locks. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>

/* Queries [start, start+len) for a write lock through an OFD description, which
 * sees this process's POSIX locks too; prints what is there. */
static void show(int fd, const char *what, off_t start, off_t len) {
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, F_OFD_GETLK, &q) != 0) {
        printf("%s: getlk %s\n", what, errname(errno));
        return;
    }
    if (q.l_type == F_UNLCK) {
        printf("%s: unlocked\n", what);
        return;
    }
    printf("%s: %s start %lld len %lld pid %s\n", what, q.l_type == F_WRLCK ? "wr" : "rd",
           (long long)q.l_start, (long long)q.l_len,
           q.l_pid == getpid() ? "self" : q.l_pid == -1 ? "-1" : "other");
}

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len) {
    struct flock l = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &l);
}

int main(void) {
    char dir[] = "/tmp/lk-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int a = open("f", O_RDWR | O_CREAT, 0644);
    char data[100];
    memset(data, 'x', sizeof data);
    CHECK(write(a, data, sizeof data) == 100);
    int b = open("f", O_RDWR), r = open("f", O_RDONLY), w = open("f", O_WRONLY);
    int q = open("f", O_RDONLY); /* the observer: OFD queries only */

    /* POSIX ranges from each whence. */
    CHECK(lk(a, F_SETLK, F_WRLCK, SEEK_SET, 10, 10) == 0);
    show(q, "set 10+10", 0, 0);
    CHECK(lseek(a, 50, SEEK_SET) == 50);
    CHECK(lk(a, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5) == 0);
    show(q, "cur -10+5", 30, 0);
    CHECK(lk(a, F_SETLK, F_RDLCK, SEEK_END, -10, 0) == 0);
    show(q, "end -10+0", 50, 0);
    CHECK(lk(a, F_SETLK, F_WRLCK, SEEK_SET, 30, -10) == 0);
    show(q, "set 30-10", 20, 20);
    show(q, "beyond eof", 1000, 10);
    /* The process never conflicts with itself: F_GETLK says F_UNLCK and leaves
     * the rest alone, through any of its descriptors. */
    struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(b, F_GETLK, &g) == 0 && g.l_type == F_UNLCK && g.l_start == 0 && g.l_len == 0);
    CHECK(lk(b, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0);
    show(q, "whole by b", 0, 0);
    /* Unlocking the middle splits a lock. */
    CHECK(lk(a, F_SETLK, F_UNLCK, SEEK_SET, 40, 20) == 0);
    show(q, "left part", 0, 50);
    show(q, "hole", 40, 20);
    show(q, "right part", 50, 0);
    CHECK(lk(a, F_SETLK, F_RDLCK, SEEK_SET, 5, 10) == 0);
    show(q, "read inside", 0, 20);
    CHECK(lk(a, F_SETLKW, F_UNLCK, SEEK_SET, 0, 0) == 0);
    show(q, "all unlocked", 0, 0);

    /* Errors. */
    EXPECT_ERRNO(lk(r, F_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
    EXPECT_ERRNO(lk(w, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
    EXPECT_ERRNO(lk(r, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
    CHECK(lk(r, F_SETLK, F_UNLCK, SEEK_SET, 0, 1) == 0);
    EXPECT_ERRNO(lk(a, F_SETLK, 7, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, 3, 0, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, -1, 0, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, SEEK_SET, -1, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, SEEK_SET, 5, -6), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, SEEK_END, -101, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, SEEK_SET, LLONG_MAX, 2), EOVERFLOW);
    EXPECT_ERRNO(lk(a, F_GETLK, F_UNLCK, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERRNO(lk(a, F_GETLK, 9, SEEK_SET, 0, 1), EINVAL);
    EXPECT_ERRNO(fcntl(a, F_GETLK, NULL), EFAULT);
    EXPECT_ERRNO(fcntl(a, F_SETLK, (void *)8), EFAULT);
    EXPECT_ERRNO(lk(999, F_SETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
    /* OFD commands require l_pid 0. */
    struct flock p = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
    EXPECT_ERRNO(fcntl(a, F_OFD_SETLK, &p), EINVAL);
    EXPECT_ERRNO(fcntl(a, F_OFD_GETLK, &p), EINVAL);
    EXPECT_ERRNO(fcntl(a, F_OFD_SETLKW, &p), EINVAL);

    /* OFD locks conflict between descriptions, and with POSIX locks. */
    CHECK(lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10) == 0);
    EXPECT_ERRNO(lk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 5, 1), EAGAIN);
    CHECK(lk(b, F_OFD_SETLK, F_RDLCK, SEEK_SET, 10, 10) == 0);
    show(b, "ofd from b", 0, 0);
    show(q, "ofd second", 10, 0);
    EXPECT_ERRNO(lk(a, F_SETLK, F_WRLCK, SEEK_SET, 15, 1), EAGAIN);
    CHECK(lk(a, F_SETLK, F_RDLCK, SEEK_SET, 15, 1) == 0);
    g = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(b, F_GETLK, &g) == 0 && g.l_type == F_WRLCK && g.l_pid == -1 && g.l_start == 0 && g.l_len == 10);
    /* An OFD lock is shared by duplicates; the same description never conflicts. */
    int a2 = dup(a);
    CHECK(lk(a2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 5) == 0);
    show(q, "after dup relock", 0, 0);
    CHECK(close(a2) == 0);
    show(q, "after closing dup", 0, 10);

    /* Closing any descriptor of the file drops this process's POSIX locks. */
    CHECK(lk(w, F_SETLK, F_WRLCK, SEEK_SET, 50, 10) == 0);
    show(q, "posix on w", 50, 10);
    int c = open("f", O_RDONLY);
    CHECK(close(c) == 0);
    show(q, "posix after close", 50, 10);
    show(q, "ofd after close", 0, 10);
    CHECK(close(a) == 0);
    show(q, "ofd after closing a", 0, 10);
    show(q, "b after closing a", 10, 10);

    /* flock: shared, exclusive, conversion, per description. */
    a = open("f", O_RDWR);
    CHECK(flock(a, LOCK_SH) == 0 && flock(b, LOCK_SH | LOCK_NB) == 0);
    EXPECT_ERRNO(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK(flock(a, LOCK_UN) == 0);
    CHECK(flock(b, LOCK_EX | LOCK_NB) == 0);
    EXPECT_ERRNO(flock(a, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    EXPECT_ERRNO(flock(r, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK(flock(b, LOCK_SH) == 0);
    CHECK(flock(a, LOCK_SH | LOCK_NB) == 0);
    CHECK(flock(a, LOCK_UN) == 0 && flock(a, LOCK_UN) == 0);
    /* flock and record locks are independent; read-only descriptors take LOCK_EX. */
    CHECK(lk(b, F_OFD_SETLK, F_UNLCK, SEEK_SET, 0, 0) == 0);
    CHECK(lk(w, F_SETLK, F_WRLCK, SEEK_SET, 0, 0) == 0);
    CHECK(flock(b, LOCK_UN) == 0 && flock(r, LOCK_EX | LOCK_NB) == 0);
    int r2 = dup(r);
    CHECK(flock(r2, LOCK_EX | LOCK_NB) == 0 && close(r2) == 0);
    EXPECT_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    CHECK(close(r) == 0);
    CHECK(flock(b, LOCK_SH | LOCK_NB) == 0);
    EXPECT_ERRNO(flock(a, 0), EINVAL);
    EXPECT_ERRNO(flock(a, LOCK_NB), EINVAL);
    EXPECT_ERRNO(flock(a, LOCK_SH | LOCK_EX), EINVAL);
    EXPECT_ERRNO(flock(a, LOCK_EX | LOCK_UN), EINVAL);
    EXPECT_ERRNO(flock(a, 16), EINVAL);
    EXPECT_ERRNO(flock(999, LOCK_SH), EBADF);
    int pa = open("f", O_PATH);
    EXPECT_ERRNO(flock(pa, LOCK_SH), EBADF);
    EXPECT_ERRNO(lk(pa, F_SETLK, F_RDLCK, SEEK_SET, 0, 0), EBADF);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(flock(d, LOCK_EX | LOCK_NB) == 0 && flock(d, LOCK_UN) == 0);
    CHECK(lk(d, F_SETLK, F_RDLCK, SEEK_SET, 0, 0) == 0);

    for (int i = 3; i < 20; i++)
        close(i);
    CHECK(unlink("f") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
