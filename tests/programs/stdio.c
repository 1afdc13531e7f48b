/* I/O on the standard descriptors as the harness sets them up: stdin, stdout
 * and stderr are pipes, stdin carries "line one\nline two\n".
 * readv/writev/write, pread/pwrite (ESPIPE on a pipe), isatty and TCGETS
 * (ENOTTY), fstat (a FIFO). */
#include "common.h"
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>

int main(void) {
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        CHECK(fstat(fd, &st) == 0);
        printf("fd %d is a FIFO: %s\n", fd, S_ISFIFO(st.st_mode) ? "yes" : "no");
        errno = 0;
        int t = isatty(fd);
        printf("fd %d isatty %d errno %s\n", fd, t, errname(errno));
        struct termios tio;
        EXPECT_ERRNO(ioctl(fd, TCGETS, &tio), ENOTTY);
    }

    char a[5], b[100];
    struct iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
    ssize_t total = 0, n;
    /* A pipe may deliver the input in pieces; collect it all. */
    while ((n = readv(0, in, 2)) > 0) {
        total += n;
        size_t first = total < (ssize_t)sizeof a ? (size_t)total : sizeof a;
        in[0].iov_base = a + first;
        in[0].iov_len = sizeof a - first;
        in[1].iov_base = b + (total - (ssize_t)first);
        in[1].iov_len = sizeof b - (size_t)(total - (ssize_t)first);
    }
    CHECK(n == 0);
    printf("readv got %zd bytes: first iov \"%.5s\", second iov \"", total, a);
    for (ssize_t i = 0; i < total - 5; i++)
        putchar(b[i] == '\n' ? '|' : b[i]);
    printf("\"\n");
    CHECK(read(0, b, sizeof b) == 0);
    CHECK(read(0, b, 0) == 0);

    EXPECT_ERRNO(pread(0, b, 4, 0), ESPIPE);
    EXPECT_ERRNO(pwrite(1, "x", 1, 0), ESPIPE);
    EXPECT_ERRNO(lseek(1, 0, SEEK_CUR), ESPIPE);
    fflush(stdout);

    struct iovec out[3] = {{"writev ", 7}, {"in three ", 9}, {"pieces\n", 7}};
    CHECK(writev(1, out, 3) == 23);
    CHECK(write(1, "", 0) == 0);
    CHECK(write(2, "to stderr\n", 10) == 10);
    struct iovec err[2] = {{"writev ", 7}, {"to stderr\n", 10}};
    CHECK(writev(2, err, 2) == 17);
    CHECK(writev(1, out, 0) == 0);
    return finish();
}
