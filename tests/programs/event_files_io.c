/* eventfd, signalfd and epoll files through the generic I/O calls: readv/writev with
 * one iovec and a read split over two, F_SETFL O_NONBLOCK taking effect on the next
 * read, dup'd descriptors sharing the object, fstat of the anonymous inode, pread
 * (ESPIPE), and read/readv/write on an epoll file (EINVAL). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>

int main(void) {
    int e = eventfd(0, 0);
    uint64_t v = 0x0102030405060708ULL;
    struct iovec w = {.iov_base = &v, .iov_len = 8};
    CHECK(writev(e, &w, 1) == 8);
    uint32_t lo = 0, hi = 0;
    struct iovec r2[2] = {{.iov_base = &lo, .iov_len = 4}, {.iov_base = &hi, .iov_len = 4}};
    CHECK(readv(e, r2, 2) == 8 && lo == 0x05060708 && hi == 0x01020304);
    CHECK(fcntl(e, F_SETFL, O_NONBLOCK) == 0);
    EXPECT_ERRNO(read(e, &v, 8), EAGAIN);
    struct iovec r1 = {.iov_base = &v, .iov_len = 8};
    EXPECT_ERRNO(readv(e, &r1, 1), EAGAIN);
    int e2 = dup(e);
    v = 5;
    CHECK(write(e2, &v, 8) == 8);
    CHECK(read(e, &v, 8) == 8 && v == 5);
    EXPECT_ERRNO(pread(e, &v, 8, 0), ESPIPE);
    EXPECT_ERRNO(pwrite(e, &v, 8, 0), ESPIPE);
    struct stat st;
    CHECK(fstat(e, &st) == 0 && (st.st_mode & S_IFMT) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(st.st_uid == getuid() && st.st_size == 0);
    close(e);
    close(e2);

    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int s = signalfd(-1, &m, SFD_NONBLOCK);
    raise(SIGUSR1);
    struct signalfd_siginfo si;
    struct iovec sv[2] = {{.iov_base = &si, .iov_len = 64}, {.iov_base = (char *)&si + 64, .iov_len = 64}};
    CHECK(readv(s, sv, 2) == 128 && si.ssi_signo == SIGUSR1);
    EXPECT_ERRNO(readv(s, sv, 2), EAGAIN);
    EXPECT_ERRNO(pread(s, &si, sizeof si, 0), ESPIPE);
    CHECK(fcntl(s, F_SETFL, 0) == 0 && fcntl(s, F_GETFL) == O_RDWR);
    CHECK(fstat(s, &st) == 0 && (st.st_mode & 0777) == 0600);
    close(s);

    int ep = epoll_create1(0);
    char buf[16];
    EXPECT_ERRNO(read(ep, buf, sizeof buf), EINVAL);
    struct iovec bv = {.iov_base = buf, .iov_len = sizeof buf};
    EXPECT_ERRNO(readv(ep, &bv, 1), EINVAL);
    EXPECT_ERRNO(write(ep, buf, sizeof buf), EINVAL);
    CHECK(fstat(ep, &st) == 0 && (st.st_mode & 0777) == 0600);
    return finish();
}
