/* readv/writev/preadv/pwritev/preadv2/pwritev2 on a regular file: scatter
 * and gather, offsets, zero-length vectors, the iovcnt limit and RWF flags. */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

/* Every file test works in a scratch directory of its own under /tmp,
 * removed at the end (rmdir fails if anything is left behind). */
#ifndef SCRATCH_TEMPLATE
#define SCRATCH_TEMPLATE "/tmp/ft-XXXXXX"
#endif
static char scratch[] = SCRATCH_TEMPLATE;

static void enter_scratch(void) {
    if (!mkdtemp(scratch) || chdir(scratch) != 0) {
        printf("cannot set up the scratch directory: %s\n", errname(errno));
        exit(2);
    }
}

static void leave_scratch(void) {
    CHECK(chdir("/") == 0);
    CHECK(rmdir(scratch) == 0);
}

int main(void) {
    enter_scratch();
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    struct iovec w[4] = {
        {"abc", 3}, {NULL, 0}, {"defgh", 5}, {"ij", 2},
    };
    printf("writev -> %zd\n", writev(fd, w, 4));
    printf("offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char a[4] = {0}, b[2] = {0}, c[10] = {0};
    struct iovec r[3] = {{a, 3}, {b, 1}, {c, 9}};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    printf("readv -> %zd: [%s][%s][%s]\n", readv(fd, r, 3), a, b, c);
    memset(c, 0, sizeof c);
    printf("preadv at 7 -> %zd: [%s]\n", preadv(fd, &r[2], 1, 7), c);
    printf("offset after preadv %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    struct iovec pw[2] = {{"XY", 2}, {"Z", 1}};
    printf("pwritev at 2 -> %zd\n", pwritev(fd, pw, 2, 2));
    printf("pwritev past EOF at 12 -> %zd\n", pwritev(fd, pw, 2, 12));
    char all[32] = {0};
    ssize_t n = pread(fd, all, sizeof all, 0);
    printf("file %zd bytes:", n);
    for (ssize_t i = 0; i < n; i++)
        printf(" %02x", (unsigned char)all[i]);
    printf("\n");

    /* preadv2/pwritev2 with offset -1 use and move the file offset. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    memset(a, 0, sizeof a);
    struct iovec one = {a, 3};
    printf("preadv2(-1) -> %zd: %s\n", preadv2(fd, &one, 1, -1, 0), a);
    printf("offset after preadv2(-1) %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("preadv2(0, RWF_HIPRI) -> %zd\n", preadv2(fd, &one, 1, 0, RWF_HIPRI));
    EXPECT_ERRNO(preadv2(fd, &one, 1, 0, 0x100000), EOPNOTSUPP);
    printf("pwritev2(RWF_APPEND) -> %zd\n", pwritev2(fd, pw, 1, 0, RWF_APPEND));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size after RWF_APPEND %ld\n", (long)st.st_size);
    printf("pwritev2(RWF_DSYNC) -> %zd\n", pwritev2(fd, pw, 1, 0, RWF_DSYNC));

    /* Errors. */
    EXPECT_ERRNO(syscall(SYS_readv, fd, r, -1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_readv, fd, r, IOV_MAX + 1), EINVAL);
    EXPECT_ERRNO(preadv(fd, r, 1, -1), EINVAL);
    EXPECT_ERRNO(pwritev(fd, pw, 1, -5), EINVAL);
    struct iovec neg = {a, (size_t)-1};
    EXPECT_ERRNO(readv(fd, &neg, 1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_readv, fd, (struct iovec *)8, 1), EFAULT);
    struct iovec badbuf = {(void *)8, 4};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    EXPECT_ERRNO(readv(fd, &badbuf, 1), EFAULT);
    printf("readv iovcnt 0 -> %zd\n", readv(fd, r, 0));
    printf("writev iovcnt 0 -> %zd\n", writev(fd, w, 0));
    /* A partly bad vector: the bytes before the bad buffer are transferred. */
    struct iovec part[2] = {{a, 3}, {(void *)8, 4}};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    printf("readv with a bad second buffer -> %zd\n", readv(fd, part, 2));
    CHECK(close(fd) == 0);
    fd = open("f", O_RDONLY);
    EXPECT_ERRNO(writev(fd, w, 1), EBADF);
    CHECK(close(fd) == 0);

    CHECK(unlink("f") == 0);
    leave_scratch();
    return finish();
}
