/* read/write/pread/pwrite on a regular file: the file offset, short reads at
 * EOF, writes past EOF leaving a zero-filled gap, pread/pwrite leaving the
 * offset alone, and the errno of each misuse. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

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

static int all_zero(const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

int main(void) {
    enter_scratch();
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    printf("write 10 -> %zd\n", write(fd, "0123456789", 10));
    printf("offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    char buf[64];
    printf("read at EOF -> %zd\n", read(fd, buf, sizeof buf));
    CHECK(lseek(fd, 4, SEEK_SET) == 4);
    memset(buf, 0, sizeof buf);
    printf("short read -> %zd: %s\n", read(fd, buf, sizeof buf), buf);
    printf("read count 0 -> %zd\n", read(fd, buf, 0));
    printf("write count 0 -> %zd\n", write(fd, buf, 0));

    memset(buf, 0, sizeof buf);
    printf("pread(3, 2) -> %zd: %s\n", pread(fd, buf, 3, 2), buf);
    printf("offset unchanged by pread %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("pread at 100 -> %zd\n", pread(fd, buf, 3, 100));
    printf("pwrite(\"AB\", 1) -> %zd\n", pwrite(fd, "AB", 2, 1));
    printf("offset unchanged by pwrite %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    EXPECT_ERRNO(pread(fd, buf, 1, -1), EINVAL);
    EXPECT_ERRNO(pwrite(fd, "x", 1, -1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_pread64, fd, buf, 1, (long)-4096), EINVAL);

    /* Writing past EOF leaves a gap of zeros. */
    printf("pwrite at 20 -> %zd\n", pwrite(fd, "END", 3, 20));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size %ld\n", (long)st.st_size);
    memset(buf, 'x', sizeof buf);
    printf("pread whole -> %zd\n", pread(fd, buf, sizeof buf, 0));
    printf("gap 10..20 zero: %s\n", all_zero(buf + 10, 10) ? "yes" : "no");
    printf("head %.10s tail %.3s\n", buf, buf + 20);
    /* A gap made by lseek + write. */
    CHECK(lseek(fd, 8192, SEEK_SET) == 8192);
    CHECK(write(fd, "Z", 1) == 1);
    CHECK(fstat(fd, &st) == 0);
    printf("size after write at 8192: %ld\n", (long)st.st_size);
    char big[8193];
    CHECK(pread(fd, big, sizeof big, 0) == 8193);
    printf("23..8192 zero: %s, last %c\n", all_zero(big + 23, 8192 - 23) ? "yes" : "no", big[8192]);
    /* Seeking past EOF without writing does not change the size. */
    CHECK(lseek(fd, 100000, SEEK_SET) == 100000);
    CHECK(read(fd, buf, 1) == 0);
    CHECK(fstat(fd, &st) == 0);
    printf("size after seek past EOF: %ld\n", (long)st.st_size);
    /* Large writes and reads. */
    static char blob[300000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (char)(i * 7 + i / 251);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, blob, sizeof blob, 0) == (ssize_t)sizeof blob);
    static char back[300000];
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, back + got, 65536)) > 0)
        got += r;
    printf("read back %zu bytes, equal: %s\n", got, memcmp(blob, back, sizeof blob) ? "no" : "yes");
    CHECK(close(fd) == 0);

    /* Access mode errors. */
    fd = open("f", O_RDONLY);
    EXPECT_ERRNO(write(fd, "x", 1), EBADF);
    EXPECT_ERRNO(pwrite(fd, "x", 1, 0), EBADF);
    CHECK(close(fd) == 0);
    fd = open("f", O_WRONLY);
    EXPECT_ERRNO(read(fd, buf, 1), EBADF);
    EXPECT_ERRNO(pread(fd, buf, 1, 0), EBADF);
    EXPECT_ERRNO(read(fd, buf, 0), EBADF);
    /* A bad buffer: EFAULT, nothing written. */
    EXPECT_ERRNO(syscall(SYS_write, fd, (void *)8, 4), EFAULT);
    CHECK(close(fd) == 0);
    fd = open("f", O_RDONLY);
    EXPECT_ERRNO(syscall(SYS_read, fd, (void *)8, 4), EFAULT);
    CHECK(close(fd) == 0);
    EXPECT_ERRNO(read(fd, buf, 1), EBADF);
    EXPECT_ERRNO(write(-1, "x", 1), EBADF);
    /* Directories. */
    CHECK(mkdir("d", 0755) == 0);
    fd = open("d", O_RDONLY);
    EXPECT_ERRNO(read(fd, buf, 1), EISDIR);
    EXPECT_ERRNO(pread(fd, buf, 1, 0), EISDIR);
    EXPECT_ERRNO(write(fd, "x", 1), EBADF);
    CHECK(close(fd) == 0);

    CHECK(rmdir("d") == 0);
    CHECK(unlink("f") == 0);
    leave_scratch();
    return finish();
}
