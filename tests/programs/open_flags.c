/* open/openat/creat: O_CREAT|O_EXCL, O_DIRECTORY, O_TRUNC, O_APPEND,
 * O_NOFOLLOW, O_CLOEXEC, O_TMPFILE misuse, F_GETFL values and the errno of
 * every misuse, in a scratch directory under /tmp. */
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

static long fsize(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

int main(void) {
    enter_scratch();
    umask(022);

    int fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello", 5) == 5);
    printf("O_WRONLY F_GETFL %#x\n", fcntl(fd, F_GETFL));
    printf("F_GETFD without O_CLOEXEC %d\n", fcntl(fd, F_GETFD));
    CHECK(close(fd) == 0);

    EXPECT_ERRNO(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERRNO(open("missing", O_RDONLY), ENOENT);
    EXPECT_ERRNO(open("missing/x", O_RDONLY | O_CREAT, 0644), ENOENT);
    EXPECT_ERRNO(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERRNO(open("f/x", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("f/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("f/", O_RDONLY | O_CREAT, 0644), EISDIR);
    EXPECT_ERRNO(open("newfile/", O_RDWR | O_CREAT, 0644), EISDIR);
    CHECK(access("newfile", F_OK) == -1 && errno == ENOENT);
    EXPECT_ERRNO(open("f", O_RDONLY | O_CREAT | O_DIRECTORY, 0644), EINVAL);
    /* O_EXCL without O_CREAT is ignored for regular files. */
    fd = open("f", O_RDONLY | O_EXCL);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);

    CHECK(mkdir("d", 0755) == 0);
    EXPECT_ERRNO(open("d", O_WRONLY), EISDIR);
    EXPECT_ERRNO(open("d", O_RDWR), EISDIR);
    EXPECT_ERRNO(open("d", O_RDONLY | O_TRUNC), EISDIR);
    EXPECT_ERRNO(open("d", O_WRONLY | O_CREAT, 0644), EISDIR);
    EXPECT_ERRNO(open("d", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    fd = open("d", O_RDONLY);
    CHECK(fd >= 0);
    printf("directory O_RDONLY F_GETFL %#x\n", fcntl(fd, F_GETFL));
    CHECK(close(fd) == 0);
    fd = open("d/", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    printf("directory O_DIRECTORY F_GETFL %#x\n", fcntl(fd, F_GETFL));
    CHECK(close(fd) == 0);

    /* Reading F_GETFL for the access modes. */
    fd = open("f", O_RDONLY);
    printf("O_RDONLY F_GETFL %#x\n", fcntl(fd, F_GETFL));
    CHECK(close(fd) == 0);
    fd = open("f", O_RDWR | O_APPEND | O_NONBLOCK);
    printf("O_RDWR|O_APPEND|O_NONBLOCK F_GETFL %#x\n", fcntl(fd, F_GETFL));
    CHECK(close(fd) == 0);
    fd = open("f", O_RDONLY | O_CLOEXEC);
    printf("O_CLOEXEC F_GETFD %d (FD_CLOEXEC=%d)\n", fcntl(fd, F_GETFD), FD_CLOEXEC);
    printf("O_CLOEXEC not in F_GETFL: %s\n", (fcntl(fd, F_GETFL) & O_CLOEXEC) ? "no" : "yes");
    CHECK(close(fd) == 0);
    /* O_ACCMODE 3 is accepted by Linux (no read, no write). */
    fd = open("f", 3);
    CHECK(fd >= 0);
    if (fd >= 0) {
        char c;
        printf("access mode 3 F_GETFL %#x\n", fcntl(fd, F_GETFL));
        EXPECT_ERRNO(read(fd, &c, 1), EBADF);
        EXPECT_ERRNO(write(fd, "x", 1), EBADF);
        CHECK(close(fd) == 0);
    }

    /* O_TRUNC */
    printf("size before O_TRUNC %ld\n", fsize("f"));
    fd = open("f", O_RDONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    printf("size after O_RDONLY|O_TRUNC %ld\n", fsize("f"));
    fd = open("f", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    printf("size after O_WRONLY|O_TRUNC %ld\n", fsize("f"));

    /* O_APPEND: every write goes to the end, even after lseek. */
    fd = open("f", O_WRONLY | O_TRUNC);
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(close(fd) == 0);
    fd = open("f", O_RDWR | O_APPEND);
    CHECK(fd >= 0);
    printf("O_APPEND initial offset %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    CHECK(lseek(fd, 2, SEEK_SET) == 2);
    CHECK(write(fd, "AB", 2) == 2);
    printf("offset after O_APPEND write %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    CHECK(pwrite(fd, "CD", 2, 0) == 2);
    char buf[32] = {0};
    CHECK(pread(fd, buf, sizeof buf - 1, 0) == 14);
    printf("contents after O_APPEND writes %s\n", buf);
    CHECK(close(fd) == 0);

    /* O_NOFOLLOW */
    CHECK(symlink("f", "lnk") == 0);
    EXPECT_ERRNO(open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_ERRNO(open("lnk", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644), ELOOP);
    fd = open("lnk", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    /* O_NOFOLLOW only concerns the last component. */
    CHECK(symlink("d", "dlnk") == 0);
    fd = open("d/f2", O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    fd = open("dlnk/f2", O_RDONLY | O_NOFOLLOW);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    /* O_CREAT|O_EXCL on a dangling symlink: EEXIST, the target is not created. */
    CHECK(symlink("target-not-there", "dangling") == 0);
    EXPECT_ERRNO(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    CHECK(access("target-not-there", F_OK) == -1);
    /* O_CREAT through a dangling symlink creates the target. */
    fd = open("dangling", O_WRONLY | O_CREAT, 0640);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(access("target-not-there", F_OK) == 0);

    /* creat = O_CREAT|O_WRONLY|O_TRUNC; mode & ~umask */
    fd = creat("c", 0777);
    CHECK(fd >= 0);
    printf("creat F_GETFL %#x\n", fcntl(fd, F_GETFL));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("creat mode %o\n", st.st_mode);
    CHECK(close(fd) == 0);

    /* openat relative to a directory fd, and with a non-directory fd. */
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "f2", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    int ffd = open("f", O_RDONLY);
    EXPECT_ERRNO(openat(ffd, "x", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(openat(1000, "x", O_RDONLY), EBADF);
    /* An absolute path ignores the dirfd, even a bad one. */
    fd = openat(1000, "/", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(close(ffd) == 0);
    CHECK(close(dfd) == 0);

    /* O_TMPFILE needs O_WRONLY or O_RDWR. */
    EXPECT_ERRNO(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    EXPECT_ERRNO(open("f", O_TMPFILE | O_RDONLY, 0600), EINVAL);

    CHECK(unlink("f") == 0);
    CHECK(unlink("lnk") == 0);
    CHECK(unlink("dlnk") == 0);
    CHECK(unlink("d/f2") == 0);
    CHECK(rmdir("d") == 0);
    CHECK(unlink("dangling") == 0);
    CHECK(unlink("target-not-there") == 0);
    CHECK(unlink("c") == 0);
    leave_scratch();
    return finish();
}
