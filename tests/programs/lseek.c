/* lseek on regular files and directories: SEEK_SET/CUR/END, SEEK_DATA and
 * SEEK_HOLE on dense and sparse files, ENXIO past EOF, EINVAL for a negative
 * result or a bad whence, ESPIPE never for files. */
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

int main(void) {
    enter_scratch();
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    printf("SEEK_SET 3 -> %ld\n", (long)lseek(fd, 3, SEEK_SET));
    printf("SEEK_CUR +4 -> %ld\n", (long)lseek(fd, 4, SEEK_CUR));
    printf("SEEK_CUR -2 -> %ld\n", (long)lseek(fd, -2, SEEK_CUR));
    printf("SEEK_END 0 -> %ld\n", (long)lseek(fd, 0, SEEK_END));
    printf("SEEK_END -3 -> %ld\n", (long)lseek(fd, -3, SEEK_END));
    printf("SEEK_END +5 -> %ld\n", (long)lseek(fd, 5, SEEK_END));
    printf("SEEK_SET 1<<40 -> %ld\n", (long)lseek(fd, 1L << 40, SEEK_SET));
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    EXPECT_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
    printf("offset after failed seek %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    EXPECT_ERRNO(lseek(fd, -6, SEEK_CUR), EINVAL);
    EXPECT_ERRNO(lseek(fd, -11, SEEK_END), EINVAL);
    EXPECT_ERRNO(lseek(fd, 0, 5), EINVAL);
    EXPECT_ERRNO(lseek(fd, 0, -1), EINVAL);
    EXPECT_ERRNO(lseek(100, 0, SEEK_SET), EBADF);

    /* SEEK_DATA / SEEK_HOLE on a dense file: data everywhere, the hole is EOF. */
    printf("SEEK_DATA 0 -> %ld\n", (long)lseek(fd, 0, SEEK_DATA));
    printf("SEEK_DATA 7 -> %ld\n", (long)lseek(fd, 7, SEEK_DATA));
    printf("SEEK_HOLE 0 -> %ld\n", (long)lseek(fd, 0, SEEK_HOLE));
    printf("SEEK_HOLE 9 -> %ld\n", (long)lseek(fd, 9, SEEK_HOLE));
    EXPECT_ERRNO(lseek(fd, 10, SEEK_DATA), ENXIO);
    EXPECT_ERRNO(lseek(fd, 10, SEEK_HOLE), ENXIO);
    EXPECT_ERRNO(lseek(fd, 1000, SEEK_DATA), ENXIO);
    EXPECT_ERRNO(lseek(fd, -1, SEEK_DATA), ENXIO);
    EXPECT_ERRNO(lseek(fd, -1, SEEK_HOLE), ENXIO);

    /* A sparse file: 1 MiB hole, then data. */
    int sp = open("sparse", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(pwrite(sp, "tail", 4, 1 << 20) == 4);
    printf("sparse SEEK_DATA 0 -> %ld\n", (long)lseek(sp, 0, SEEK_DATA));
    printf("sparse SEEK_HOLE 0 -> %ld\n", (long)lseek(sp, 0, SEEK_HOLE));
    printf("sparse SEEK_HOLE in data -> %ld\n", (long)lseek(sp, (1 << 20) + 1, SEEK_HOLE));
    CHECK(ftruncate(sp, 4 << 20) == 0);
    printf("after extending: SEEK_HOLE in data -> %ld\n", (long)lseek(sp, 1 << 20, SEEK_HOLE));
    EXPECT_ERRNO(lseek(sp, (1 << 20) + 8192, SEEK_DATA), ENXIO);
    CHECK(close(sp) == 0);
    /* An empty file. */
    sp = open("empty", O_CREAT | O_RDWR | O_TRUNC, 0644);
    EXPECT_ERRNO(lseek(sp, 0, SEEK_DATA), ENXIO);
    EXPECT_ERRNO(lseek(sp, 0, SEEK_HOLE), ENXIO);
    printf("empty SEEK_END 0 -> %ld\n", (long)lseek(sp, 0, SEEK_END));
    CHECK(close(sp) == 0);
    CHECK(close(fd) == 0);

    /* O_APPEND does not stop lseek, it only moves writes. */
    fd = open("f", O_RDWR | O_APPEND);
    printf("O_APPEND SEEK_SET 2 -> %ld\n", (long)lseek(fd, 2, SEEK_SET));
    CHECK(close(fd) == 0);

    /* A directory: seeking back to the start works and rewinds the listing. */
    CHECK(mkdir("d", 0755) == 0);
    int d = open("d", O_RDONLY | O_DIRECTORY);
    printf("directory SEEK_SET 0 -> %ld\n", (long)lseek(d, 0, SEEK_SET));
    printf("directory SEEK_CUR 0 -> %ld\n", (long)lseek(d, 0, SEEK_CUR));
    char buf[512];
    long n1 = syscall(SYS_getdents64, d, buf, sizeof buf);
    CHECK(lseek(d, 0, SEEK_SET) == 0);
    long n2 = syscall(SYS_getdents64, d, buf, sizeof buf);
    printf("rewound listing same size: %s\n", n1 > 0 && n1 == n2 ? "yes" : "no");
    EXPECT_ERRNO(lseek(d, -1, SEEK_SET), EINVAL);
    CHECK(close(d) == 0);

    CHECK(rmdir("d") == 0);
    CHECK(unlink("f") == 0);
    CHECK(unlink("sparse") == 0);
    CHECK(unlink("empty") == 0);
    leave_scratch();
    return finish();
}
