/* /dev: null, zero, full, random, urandom, tty (no controlling terminal), the fd and
 * stdio links, reopening through /dev/fd/N, /dev/shm, device numbers and modes, seeks,
 * a device node made with mknod behaving as its device. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

/* An unmapped address the compiler cannot see through. */
static void *volatile bad = (void *)1;

static int all(const unsigned char *b, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return 0;
    return 1;
}

static int is_dev(const char *path, unsigned maj, unsigned min) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
           minor(st.st_rdev) == min && (st.st_mode & 0777) == 0666;
}

static int link_is(const char *path, const char *want) {
    char buf[256] = {0};
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && readlink(path, buf, sizeof buf - 1) == (ssize_t)strlen(want) &&
           !strcmp(buf, want);
}

int main(void) {
    unsigned char buf[4096], buf2[64];
    CHECK(is_dev("/dev/null", 1, 3));
    CHECK(is_dev("/dev/zero", 1, 5));
    CHECK(is_dev("/dev/full", 1, 7));
    CHECK(is_dev("/dev/random", 1, 8));
    CHECK(is_dev("/dev/urandom", 1, 9));
    CHECK(is_dev("/dev/tty", 5, 0));
    struct stat st;
    CHECK(stat("/dev", &st) == 0 && S_ISDIR(st.st_mode));

    /* null */
    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(write(fd, buf, sizeof buf) == sizeof buf);
    CHECK(pread(fd, buf, 10, 100) == 0 && pwrite(fd, buf, 10, 100) == 10);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0 && lseek(fd, 1000, SEEK_SET) == 0 && lseek(fd, 0, SEEK_END) == 0);
    struct iovec iov[2] = {{buf, 5}, {buf2, 7}};
    CHECK(writev(fd, iov, 2) == 12 && readv(fd, iov, 2) == 0);
    close(fd);
    fd = open("/dev/null", O_WRONLY | O_TRUNC | O_APPEND);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1);
    close(fd);

    /* zero */
    fd = open("/dev/zero", O_RDWR);
    memset(buf, 0xff, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == sizeof buf && all(buf, sizeof buf, 0));
    memset(buf, 0xff, sizeof buf);
    CHECK(pread(fd, buf, 100, 12345) == 100 && all(buf, 100, 0) && buf[100] == 0xff);
    CHECK(write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(lseek(fd, 4096, SEEK_SET) == 0);
    EXPECT_ERRNO(read(fd, bad, 10), EFAULT);
    memset(buf, 0xff, sizeof buf);
    memset(buf2, 0xff, sizeof buf2);
    CHECK(readv(fd, iov, 2) == 12 && all(buf, 5, 0) && all(buf2, 7, 0) && buf[5] == 0xff && buf2[7] == 0xff);
    /* A private mapping of /dev/zero is zero-filled anonymous memory. */
    unsigned char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED && all(m, 8192, 0));
    if (m != MAP_FAILED) {
        m[100] = 7;
        CHECK(m[100] == 7 && munmap(m, 8192) == 0);
    }
    close(fd);

    /* full */
    fd = open("/dev/full", O_RDWR);
    EXPECT_ERRNO(write(fd, "x", 1), ENOSPC);
    EXPECT_ERRNO(pwrite(fd, "x", 1, 10), ENOSPC);
    memset(buf, 0xff, 64);
    CHECK(read(fd, buf, 64) == 64 && all(buf, 64, 0));
    CHECK(lseek(fd, 100, SEEK_SET) == 0);
    close(fd);

    /* random, urandom: not all zero, never the same twice. */
    const char *rnd[] = {"/dev/random", "/dev/urandom"};
    for (int i = 0; i < 2; i++) {
        fd = open(rnd[i], O_RDONLY);
        memset(buf, 0, 128);
        CHECK(fd >= 0 && read(fd, buf, 64) == 64 && read(fd, buf + 64, 64) == 64);
        printf("%s: not all zero: %d, two reads differ: %d\n", rnd[i], !all(buf, 64, 0), memcmp(buf, buf + 64, 64) != 0);
        CHECK(read(fd, buf, 0) == 0);
        close(fd);
    }
    fd = open("/dev/urandom", O_WRONLY);
    CHECK(fd >= 0);
    close(fd);

    /* tty: no controlling terminal once in a session of our own (setsid may fail when
     * already a session leader without one; either way there is no terminal). */
    (void)setsid();
    EXPECT_ERRNO(open("/dev/tty", O_RDWR), ENXIO);
    EXPECT_ERRNO(open("/dev/tty", O_RDONLY | O_NOCTTY), ENXIO);

    /* The links. */
    CHECK(link_is("/dev/fd", "/proc/self/fd"));
    CHECK(link_is("/dev/stdin", "/proc/self/fd/0"));
    CHECK(link_is("/dev/stdout", "/proc/self/fd/1"));
    CHECK(link_is("/dev/stderr", "/proc/self/fd/2"));
    struct stat a, b;
    /* They lead to the descriptors' own files (here pipes from the harness), which open
     * again: stdin's data reads through /dev/stdin, writes to /dev/stdout join stdout. */
    CHECK(stat("/dev/stdin", &a) == 0 && fstat(0, &b) == 0 && a.st_ino == b.st_ino);
    CHECK(S_ISFIFO(a.st_mode) && a.st_dev == b.st_dev);
    CHECK(stat("/dev/stdout", &a) == 0 && fstat(1, &b) == 0 && a.st_ino == b.st_ino);
    CHECK(stat("/proc/self/fd/2", &a) == 0 && fstat(2, &b) == 0 && a.st_ino == b.st_ino);
    int in = open("/dev/stdin", O_RDONLY);
    char line[9] = {0};
    CHECK(in >= 0 && read(in, line, 8) == 8 && strcmp(line, "line one") == 0);
    close(in);
    fflush(stdout);
    int out = open("/dev/stdout", O_WRONLY | O_TRUNC);
    CHECK(out >= 0 && write(out, "written to /dev/stdout\n", 23) == 23);
    close(out);
    EXPECT_ERRNO(open("/proc/self/fd/0/x", O_RDONLY), ENOTDIR);

    /* Scratch work: /dev/fd/N reopens, mknod'ed devices. */
    char dir[] = "/tmp/df-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    fd = open("file", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0 && write(fd, "reopened", 8) == 8);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    int again = open(path, O_RDONLY);
    char got[16] = {0};
    CHECK(again >= 0 && again != fd && read(again, got, 8) == 8 && !strcmp(got, "reopened"));
    CHECK(lseek(fd, 0, SEEK_CUR) == 8 && lseek(again, 0, SEEK_CUR) == 8);
    CHECK(fstat(fd, &a) == 0 && fstat(again, &b) == 0 && a.st_ino == b.st_ino);
    close(again);
    EXPECT_ERRNO(open("/dev/fd/999", O_RDONLY), ENOENT);
    close(fd);
    CHECK(unlink("file") == 0);
    CHECK(mknod("mynull", S_IFCHR | 0600, makedev(1, 3)) == 0);
    CHECK(mknod("myzero", S_IFCHR | 0600, makedev(1, 5)) == 0);
    fd = open("mynull", O_RDWR);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3 && read(fd, buf, 3) == 0);
    close(fd);
    fd = open("myzero", O_RDONLY);
    memset(buf, 0xff, 16);
    CHECK(fd >= 0 && read(fd, buf, 16) == 16 && all(buf, 16, 0));
    close(fd);
    CHECK(stat("mynull", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) && st.st_size == 0);
    CHECK(unlink("mynull") == 0 && unlink("myzero") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);

    /* shm: a sticky world-writable directory where files can be made. */
    CHECK(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 01777);
    char shm[] = "/dev/shm/df-XXXXXX";
    fd = mkstemp(shm);
    CHECK(fd >= 0 && write(fd, "shm", 3) == 3 && pread(fd, got, 3, 0) == 3 && !memcmp(got, "shm", 3));
    close(fd);
    CHECK(unlink(shm) == 0);
    EXPECT_ERRNO(mkdir("/dev/null/x", 0755), ENOTDIR);
    EXPECT_ERRNO(open("/dev/null/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("/dev/nonexistent", O_RDONLY), ENOENT);
    return finish();
}
