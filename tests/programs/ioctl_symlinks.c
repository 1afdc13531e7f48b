/* ioctl on regular files (FIONREAD, FIOCLEX/FIONCLEX, FIONBIO, unknown requests) and
 * symlinks: symlinkat with a directory fd, readlinkat truncation, readlink errors,
 * empty targets, and readlinkat(fd, "") on an O_PATH|O_NOFOLLOW descriptor. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

int main(void) {
    char dir[] = "/tmp/is-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    CHECK(write(fd, "0123456789", 10) == 10);

    /* FIONREAD: bytes from the offset to EOF. */
    int n = -1;
    CHECK(ioctl(fd, FIONREAD, &n) == 0 && n == 0);
    CHECK(lseek(fd, 3, SEEK_SET) == 3 && ioctl(fd, FIONREAD, &n) == 0 && n == 7);
    /* Past EOF Linux reports size - offset: negative. */
    CHECK(lseek(fd, 100, SEEK_SET) == 100 && ioctl(fd, FIONREAD, &n) == 0 && n == -90);
    int wo = open("f", O_WRONLY);
    CHECK(ioctl(wo, FIONREAD, &n) == 0 && n == 10);
    EXPECT_ERRNO(ioctl(fd, FIONREAD, (int *)8), EFAULT);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO(ioctl(d, FIONREAD, &n), ENOTTY);

    /* FIOCLEX / FIONCLEX are descriptor flags. */
    CHECK(ioctl(fd, FIOCLEX) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(ioctl(fd, FIONCLEX) == 0 && fcntl(fd, F_GETFD) == 0);
    int dup_fd = dup(fd);
    CHECK(ioctl(dup_fd, FIOCLEX) == 0 && fcntl(fd, F_GETFD) == 0);
    CHECK(ioctl(d, FIOCLEX) == 0 && fcntl(d, F_GETFD) == FD_CLOEXEC);

    /* FIONBIO toggles O_NONBLOCK of the description. */
    int on = 1, off = 0;
    CHECK(ioctl(fd, FIONBIO, &on) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
    CHECK(fcntl(dup_fd, F_GETFL) & O_NONBLOCK);
    on = 42;
    CHECK(ioctl(fd, FIONBIO, &on) == 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
    CHECK(ioctl(fd, FIONBIO, &off) == 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    EXPECT_ERRNO(ioctl(fd, FIONBIO, (int *)8), EFAULT);
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));

    /* Unknown and terminal requests on a regular file. */
    struct termios tio;
    EXPECT_ERRNO(ioctl(fd, TCGETS, &tio), ENOTTY);
    EXPECT_ERRNO(ioctl(fd, TIOCGWINSZ, &tio), ENOTTY);
    EXPECT_ERRNO(ioctl(fd, 0x12345678, 0), ENOTTY);
    EXPECT_ERRNO(ioctl(d, TCGETS, &tio), ENOTTY);
    EXPECT_ERRNO(ioctl(999, FIONREAD, &n), EBADF);
    int pa = open("f", O_PATH);
    EXPECT_ERRNO(ioctl(pa, FIOCLEX), EBADF);
    EXPECT_ERRNO(ioctl(pa, FIONREAD, &n), EBADF);
    int nul = open("/dev/null", O_RDWR);
    EXPECT_ERRNO(ioctl(nul, TCGETS, &tio), ENOTTY);

    /* symlinkat relative to a directory fd; readlinkat through it. */
    CHECK(mkdir("sub", 0755) == 0);
    int sd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(symlinkat("../f", sd, "up") == 0);
    char buf[64];
    ssize_t r = readlinkat(sd, "up", buf, sizeof buf);
    CHECK(r == 4 && memcmp(buf, "../f", 4) == 0);
    CHECK(readlink("sub/up", buf, sizeof buf) == 4);
    struct stat st;
    CHECK(stat("sub/up", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 10);
    CHECK(lstat("sub/up", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 4);
    CHECK(symlinkat("/abs/target/name", AT_FDCWD, "abs") == 0);
    /* A small buffer truncates without a NUL and returns its size. */
    memset(buf, 'X', sizeof buf);
    CHECK(readlink("abs", buf, 5) == 5 && memcmp(buf, "/abs/X", 6) == 0);
    CHECK(readlinkat(AT_FDCWD, "abs", buf, 1) == 1 && buf[0] == '/');
    CHECK(readlink("abs", buf, sizeof buf) == 16);
    EXPECT_ERRNO(readlink("abs", buf, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_readlink, "abs", buf, -1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_readlink, "abs", (char *)8, 10), EFAULT);
    /* Errors. */
    EXPECT_ERRNO(readlink("f", buf, sizeof buf), EINVAL);
    EXPECT_ERRNO(readlink(".", buf, sizeof buf), EINVAL);
    EXPECT_ERRNO(readlink("missing", buf, sizeof buf), ENOENT);
    EXPECT_ERRNO(readlink("f/x", buf, sizeof buf), ENOTDIR);
    EXPECT_ERRNO(readlink("", buf, sizeof buf), ENOENT);
    EXPECT_ERRNO(readlinkat(fd, "up", buf, sizeof buf), ENOTDIR);
    EXPECT_ERRNO(readlinkat(999, "up", buf, sizeof buf), EBADF);
    EXPECT_ERRNO(symlink("", "empty"), ENOENT);
    EXPECT_ERRNO(symlink("x", "f"), EEXIST);
    EXPECT_ERRNO(symlink("x", "abs"), EEXIST);
    EXPECT_ERRNO(symlink("x", "sub"), EEXIST);
    EXPECT_ERRNO(symlink("x", "missing/l"), ENOENT);
    EXPECT_ERRNO(symlink("x", "f/l"), ENOTDIR);
    EXPECT_ERRNO(symlinkat("x", fd, "l"), ENOTDIR);
    EXPECT_ERRNO(symlinkat("x", 999, "l"), EBADF);
    EXPECT_ERRNO(symlink("x", ""), ENOENT);
    /* A symlink through a symlinked directory, and a dangling one. */
    CHECK(symlink("sub", "sublink") == 0 && readlink("sublink/up", buf, sizeof buf) == 4);
    CHECK(symlink("nowhere", "dangling") == 0 && readlink("dangling", buf, sizeof buf) == 7);
    EXPECT_ERRNO(stat("dangling", &st), ENOENT);
    char longt[5000];
    memset(longt, 'a', sizeof longt - 1);
    longt[sizeof longt - 1] = 0;
    EXPECT_ERRNO(symlink(longt, "long"), ENAMETOOLONG);

    /* readlinkat(fd, "") on an O_PATH|O_NOFOLLOW descriptor of a symlink. */
    int pl = open("abs", O_PATH | O_NOFOLLOW);
    CHECK(pl >= 0);
    memset(buf, 0, sizeof buf);
    CHECK(readlinkat(pl, "", buf, sizeof buf) == 16 && strcmp(buf, "/abs/target/name") == 0);
    CHECK(readlinkat(pl, "", buf, 3) == 3 && memcmp(buf, "/ab", 3) == 0);
    EXPECT_ERRNO(readlinkat(pa, "", buf, sizeof buf), ENOENT);
    EXPECT_ERRNO(readlinkat(d, "", buf, sizeof buf), ENOENT);
    EXPECT_ERRNO(readlinkat(AT_FDCWD, "", buf, sizeof buf), ENOENT);
    CHECK(fstatat(pl, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode));

    for (int i = 3; i < 20; i++)
        close(i);
    const char *names[] = {"f", "sub/up", "abs", "sublink", "dangling"};
    for (int i = 0; i < 5; i++)
        CHECK(unlink(names[i]) == 0);
    CHECK(rmdir("sub") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
