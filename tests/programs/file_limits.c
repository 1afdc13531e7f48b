/* Resource limits on files, enforced where Linux enforces them: RLIMIT_NOFILE for every
 * way of making a descriptor (open, dup, dup2/dup3, F_DUPFD, pipe2, memfd_create,
 * openat2), and RLIMIT_FSIZE for write, pwrite, writev, truncate and fallocate (EFBIG
 * with SIGXFSZ ignored; writes stop at the limit). In a scratch dir. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>

int main(void) {
    char dir[] = "/tmp/fl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);

    /* RLIMIT_NOFILE = 16: descriptors 0..15. */
    struct rlimit old, rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    rl.rlim_cur = 16;
    rl.rlim_max = old.rlim_max;
    for (int i = 4; i < 1024; i++)
        if (i != fd)
            close(i);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int last = -1;
    for (;;) {
        int d = dup(fd);
        if (d < 0)
            break;
        last = d;
    }
    CHECK(errno == EMFILE && last == 15);
    EXPECT_ERRNO(open("f", O_RDONLY), EMFILE);
    EXPECT_ERRNO(openat(AT_FDCWD, "f", O_RDONLY), EMFILE);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, 0), EMFILE);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, 16), EINVAL);
    EXPECT_ERRNO(dup2(fd, 16), EBADF);
    EXPECT_ERRNO(dup3(fd, 100, 0), EBADF);
    CHECK(dup2(fd, 15) == 15); /* replacing an open descriptor needs no new slot */
    EXPECT_ERRNO(memfd_create("m", 0), EMFILE);
    EXPECT_ERRNO(creat("g", 0644), EMFILE);
    EXPECT_ERRNO(access("g", F_OK), ENOENT); /* creat failed before creating? */
    /* One slot free: pipe2 needs two and must leave no descriptor behind. */
    CHECK(close(15) == 0);
    int p[2];
    EXPECT_ERRNO(pipe2(p, 0), EMFILE);
    CHECK(dup(fd) == 15);
    /* The lowest free slot is reused. */
    CHECK(close(7) == 0 && dup(fd) == 7);
    for (int i = 4; i < 16; i++)
        if (i != fd)
            close(i);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);

    /* RLIMIT_FSIZE = 10000 bytes, with SIGXFSZ ignored: EFBIG instead of the signal. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit fs = {10000, RLIM_INFINITY};
    struct rlimit fs_old;
    CHECK(getrlimit(RLIMIT_FSIZE, &fs_old) == 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &fs) == 0);
    static char buf[20000];
    memset(buf, 'x', sizeof buf);
    CHECK(pwrite(fd, buf, 8000, 0) == 8000);
    /* A write crossing the limit stops at it; one starting at it fails. */
    CHECK(write(fd, buf, 5000) == 5000); /* offset 0..5000: within */
    CHECK(lseek(fd, 9000, SEEK_SET) == 9000);
    CHECK(write(fd, buf, 5000) == 1000);
    EXPECT_ERRNO(write(fd, buf, 1), EFBIG);
    EXPECT_ERRNO(pwrite(fd, buf, 10, 10000), EFBIG);
    CHECK(pwrite(fd, buf, 10, 9995) == 5);
    struct iovec iov[2] = {{buf, 3000}, {buf, 3000}};
    CHECK(pwritev(fd, iov, 2, 6000) == 4000);
    EXPECT_ERRNO(ftruncate(fd, 10001), EFBIG);
    CHECK(ftruncate(fd, 10000) == 0);
    EXPECT_ERRNO(truncate("f", 20000), EFBIG);
    CHECK(ftruncate(fd, 100) == 0);
    EXPECT_ERRNO(fallocate(fd, 0, 0, 20000), EFBIG);
    CHECK(fallocate(fd, 0, 0, 5000) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5000);
    /* O_APPEND: the position is the end. */
    int ap = open("f", O_WRONLY | O_APPEND);
    CHECK(ap >= 0 && write(ap, buf, 6000) == 5000);
    EXPECT_ERRNO(write(ap, buf, 1), EFBIG);
    close(ap);
    /* Limits do not apply to non-regular files. */
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    CHECK(write(p[1], buf, 20000) == 20000);
    close(p[0]);
    close(p[1]);
    int dn = open("/dev/null", O_WRONLY);
    CHECK(dn >= 0 && write(dn, buf, 20000) == 20000);
    close(dn);
    CHECK(setrlimit(RLIMIT_FSIZE, &fs_old) == 0);

    close(fd);
    CHECK(unlink("f") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
