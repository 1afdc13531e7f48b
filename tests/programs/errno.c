/* Error returns on bad inputs across common syscalls. */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#define PG 4096UL

/* A bad user pointer the compiler cannot see through. */
static void *volatile bad_ptr = (void *)16;
static volatile int minus_one = -1;

int main(void) {
    unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    EXPECT_ERRNO(munmap(p + 1, PG), EINVAL);
    EXPECT_ERRNO(munmap(p, 0), EINVAL);
    EXPECT_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERRNO(mprotect(p + 1, PG, PROT_READ), EINVAL);
    EXPECT_ERRNO(mprotect(p, PG, 0x100), EINVAL);
    CHECK(munmap(p, 2 * PG) == 0);
    CHECK(munmap(p, 2 * PG) == 0); /* unmapping nothing is fine */
    EXPECT_ERRNO(mprotect(p, PG, PROT_READ), ENOMEM);

    EXPECT_ERRNO(write(1, bad_ptr, 10), EFAULT);
    EXPECT_ERRNO(write(1, p, 10), EFAULT);
    char buf[8];
    EXPECT_ERRNO(read(987, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(write(987, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(read(-1, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(close(987), EBADF);
    struct iovec iov = {buf, sizeof buf};
    EXPECT_ERRNO(writev(1, &iov, minus_one), EINVAL);
    EXPECT_ERRNO(writev(1, (struct iovec *)bad_ptr, 1), EFAULT);

    struct timespec ts;
    EXPECT_ERRNO(clock_gettime(12345, &ts), EINVAL);
    EXPECT_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad_ptr), EFAULT);
    EXPECT_ERRNO(clock_getres(12345, &ts), EINVAL);

    EXPECT_ERRNO(syscall(SYS_uname, bad_ptr), EFAULT);
    EXPECT_ERRNO(syscall(100000), ENOSYS);
    EXPECT_ERRNO(syscall(-1L), ENOSYS);
    return finish();
}
