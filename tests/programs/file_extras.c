/* memfd_create and seals, record locks (POSIX and OFD), flock, sendfile,
 * copy_file_range, fallocate, chown to oneself, utimes; in a scratch directory. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>

int main(void) {
    char dir[] = "/tmp/fx-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);

    /* memfd */
    int m = memfd_create("demo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(m >= 0);
    CHECK(write(m, "hello", 5) == 5);
    CHECK(fcntl(m, F_GET_SEALS) == 0);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) == 0);
    CHECK(fcntl(m, F_GET_SEALS) == (F_SEAL_GROW | F_SEAL_SHRINK));
    EXPECT_ERRNO(ftruncate(m, 100), EPERM);
    EXPECT_ERRNO(ftruncate(m, 1), EPERM);
    EXPECT_ERRNO(pwrite(m, "x", 1, 5), EPERM);
    CHECK(pwrite(m, "J", 1, 0) == 1);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SEAL) == 0);
    EXPECT_ERRNO(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    int m2 = memfd_create("noseal", 0);
    CHECK(fcntl(m2, F_GET_SEALS) == F_SEAL_SEAL);
    EXPECT_ERRNO(fcntl(m2, F_ADD_SEALS, F_SEAL_GROW), EPERM);
    EXPECT_ERRNO(memfd_create("x", 0x1000), EINVAL);
    char link[64], target[128];
    snprintf(link, sizeof link, "/proc/self/fd/%d", m);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("memfd link: %s\n", target);
    int plain = open("plain", O_RDWR | O_CREAT, 0644);
    CHECK(fcntl(plain, F_GET_SEALS) == -1 || fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL);

    /* Record locks: a process never conflicts with itself; OFD locks of two
     * descriptions do. */
    int a = open("locked", O_RDWR | O_CREAT, 0644), b = open("locked", O_RDWR);
    CHECK(write(a, "0123456789", 10) == 10);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    CHECK(fcntl(a, F_SETLK, &fl) == 0);
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK(fcntl(b, F_GETLK, &q) == 0 && q.l_type == F_UNLCK);
    struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 3};
    /* An OFD lock conflicts even with its own process's POSIX lock. */
    EXPECT_ERRNO(fcntl(a, F_OFD_SETLK, &o), EAGAIN);
    fl.l_type = F_UNLCK;
    CHECK(fcntl(a, F_SETLK, &fl) == 0);
    CHECK(fcntl(a, F_OFD_SETLK, &o) == 0);
    struct flock o2 = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    EXPECT_ERRNO(fcntl(b, F_OFD_SETLK, &o2), EAGAIN);
    struct flock g = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(b, F_OFD_GETLK, &g) == 0 && g.l_type == F_WRLCK && g.l_start == 2 && g.l_len == 3 && g.l_pid == -1);
    struct flock bad = {.l_type = 7};
    EXPECT_ERRNO(fcntl(a, F_SETLK, &bad), EINVAL);
    struct flock badw = {.l_type = F_RDLCK, .l_whence = 9};
    EXPECT_ERRNO(fcntl(a, F_SETLK, &badw), EINVAL);
    struct flock neg = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = -5, .l_len = 1};
    EXPECT_ERRNO(fcntl(a, F_SETLK, &neg), EINVAL);
    o.l_type = F_UNLCK;
    CHECK(fcntl(a, F_OFD_SETLK, &o) == 0);
    CHECK(fcntl(b, F_OFD_SETLK, &o2) == 0);

    /* flock */
    CHECK(flock(a, LOCK_EX) == 0);
    EXPECT_ERRNO(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    CHECK(flock(a, LOCK_UN) == 0 && flock(b, LOCK_SH | LOCK_NB) == 0);
    EXPECT_ERRNO(flock(a, LOCK_SH | LOCK_EX), EINVAL);
    CHECK(flock(a, 32 | LOCK_SH) == 0); /* obsolete LOCK_MAND: ignored */
    close(a);
    close(b);

    /* sendfile and copy_file_range */
    int src = open("src", O_RDWR | O_CREAT, 0644);
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 13);
    CHECK(write(src, data, sizeof data) == (ssize_t)sizeof data);
    int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    off_t off = 10;
    CHECK(sendfile(dst, src, &off, 50000) == 50000 && off == 50010);
    CHECK(lseek(src, 0, SEEK_CUR) == (off_t)sizeof data);
    static char back[100000];
    CHECK(pread(dst, back, 50000, 0) == 50000 && !memcmp(back, data + 10, 50000));
    loff_t in = 0, out = 60000;
    CHECK(copy_file_range(src, &in, dst, &out, 1000, 0) == 1000 && in == 1000 && out == 61000);
    CHECK(pread(dst, back, 1000, 60000) == 1000 && !memcmp(back, data, 1000));
    EXPECT_ERRNO(copy_file_range(src, &in, dst, &out, 10, 1), EINVAL);
    loff_t s1 = 0, s2 = 10;
    EXPECT_ERRNO(copy_file_range(src, &s1, src, &s2, 100, 0), EINVAL);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO(sendfile(dst, d, NULL, 10), EINVAL);

    /* fallocate, chown to oneself, utimes */
    int f = open("alloc", O_RDWR | O_CREAT, 0644);
    CHECK(fallocate(f, 0, 0, 8192) == 0);
    struct stat st;
    CHECK(fstat(f, &st) == 0 && st.st_size == 8192);
    CHECK(fallocate(f, FALLOC_FL_KEEP_SIZE, 8192, 4096) == 0 && fstat(f, &st) == 0 && st.st_size == 8192);
    EXPECT_ERRNO(fallocate(f, 0, -1, 10), EINVAL);
    EXPECT_ERRNO(fallocate(f, 0, 0, 0), EINVAL);
    CHECK(chown("alloc", getuid(), getgid()) == 0 && fchown(f, -1, -1) == 0);
    struct timeval tv[2] = {{1000000000, 5}, {1100000000, 7}};
    CHECK(utimes("alloc", tv) == 0 && stat("alloc", &st) == 0 && st.st_mtime == 1100000000 && st.st_mtim.tv_nsec == 7000);
    struct timeval badtv[2] = {{0, 1000000}, {0, 0}};
    EXPECT_ERRNO(utimes("alloc", badtv), EINVAL);

    close(f);
    close(src);
    close(dst);
    close(d);
    close(plain);
    const char *names[] = {"plain", "locked", "src", "dst", "alloc"};
    for (int i = 0; i < 5; i++)
        unlink(names[i]);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
