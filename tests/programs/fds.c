/* Descriptor tables: dup/dup2/dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC/F_GETFD/F_SETFD/F_GETFL/
 * F_SETFL, close_range (plain and CLOSE_RANGE_CLOEXEC), ioctl FIONREAD/FIOCLEX/FIONCLEX,
 * shared offsets of duplicated descriptors, EBADF cases; /dev devices. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>

int main(void) {
    char dir[] = "/tmp/fds-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(write(fd, "hello world", 11) == 11);
    int d = dup(fd);
    CHECK(d > fd && lseek(d, 0, SEEK_CUR) == 11);
    CHECK(lseek(fd, 3, SEEK_SET) == 3 && lseek(d, 0, SEEK_CUR) == 3);
    CHECK(dup2(fd, 50) == 50 && fcntl(50, F_GETFD) == 0);
    CHECK(dup3(fd, 51, O_CLOEXEC) == 51 && fcntl(51, F_GETFD) == FD_CLOEXEC);
    EXPECT_ERRNO(dup3(fd, fd, 0), EINVAL);
    EXPECT_ERRNO(dup3(fd, 52, 1), EINVAL);
    CHECK(dup2(fd, fd) == fd);
    EXPECT_ERRNO(dup2(999, 10), EBADF);
    CHECK(fcntl(fd, F_DUPFD, 60) == 60);
    CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 60) == 61 && fcntl(61, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(61, F_SETFD, 0) == 0 && fcntl(61, F_GETFD) == 0);
    printf("F_GETFL %#x\n", fcntl(fd, F_GETFL));
    CHECK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY) == 0);
    printf("F_GETFL after F_SETFL %#x\n", fcntl(fd, F_GETFL));
    EXPECT_ERRNO(fcntl(fd, 12345), EINVAL);
    EXPECT_ERRNO(fcntl(999, F_GETFD), EBADF);
    int n = -1;
    CHECK(lseek(fd, 4, SEEK_SET) == 4 && ioctl(fd, FIONREAD, &n) == 0 && n == 7);
    CHECK(ioctl(fd, FIOCLEX) == 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(ioctl(fd, FIONCLEX) == 0 && fcntl(fd, F_GETFD) == 0);
    EXPECT_ERRNO(ioctl(fd, TCGETS, &n), ENOTTY);
    CHECK(syscall(SYS_close_range, 50, 55, CLOSE_RANGE_CLOEXEC) == 0 && fcntl(50, F_GETFD) == FD_CLOEXEC);
    CHECK(syscall(SYS_close_range, 50, 70, 0) == 0);
    EXPECT_ERRNO(fcntl(50, F_GETFD), EBADF);
    EXPECT_ERRNO(fcntl(61, F_GETFD), EBADF);
    EXPECT_ERRNO(syscall(SYS_close_range, 10, 5, 0), EINVAL);
    EXPECT_ERRNO(close(999), EBADF);
    /* Devices. */
    char buf[64];
    int z = open("/dev/zero", O_RDONLY);
    CHECK(read(z, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[63] == 0);
    int nl = open("/dev/null", O_RDWR);
    CHECK(read(nl, buf, sizeof buf) == 0 && write(nl, buf, sizeof buf) == sizeof buf);
    int fl = open("/dev/full", O_WRONLY);
    EXPECT_ERRNO(write(fl, buf, 1), ENOSPC);
    int u = open("/dev/urandom", O_RDONLY);
    CHECK(read(u, buf, sizeof buf) == sizeof buf);
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    CHECK(lstat("/dev/fd", &st) == 0 && S_ISLNK(st.st_mode));
    close(z);
    close(nl);
    close(fl);
    close(u);
    close(fd);
    close(d);
    unlink("f");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
