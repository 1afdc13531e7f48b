/* O_PATH file descriptors: no I/O (EBADF), but fstat, fchdir, dup, openat
 * relative to them and F_GETFL work; O_PATH|O_NOFOLLOW opens the symlink
 * itself. */
#include "common.h"
#include <fcntl.h>
#include <sys/ioctl.h>
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
    int fd = open("f", O_CREAT | O_WRONLY, 0644);
    CHECK(write(fd, "data", 4) == 4);
    CHECK(close(fd) == 0);
    CHECK(mkdir("d", 0755) == 0);
    CHECK(symlink("f", "lnk") == 0);

    int p = open("f", O_PATH);
    CHECK(p >= 0);
    printf("O_PATH F_GETFL %#x\n", fcntl(p, F_GETFL));
    char c;
    EXPECT_ERRNO(read(p, &c, 1), EBADF);
    EXPECT_ERRNO(write(p, "x", 1), EBADF);
    EXPECT_ERRNO(pread(p, &c, 1, 0), EBADF);
    EXPECT_ERRNO(fchmod(p, 0600), EBADF);
    EXPECT_ERRNO(ftruncate(p, 0), EBADF);
    EXPECT_ERRNO(fsync(p), EBADF);
    int n;
    EXPECT_ERRNO(ioctl(p, FIONREAD, &n), EBADF);
    struct stat st, st2;
    CHECK(fstat(p, &st) == 0);
    printf("O_PATH fstat is regular %s size %ld\n", S_ISREG(st.st_mode) ? "yes" : "no",
           (long)st.st_size);
    CHECK(fstatat(p, "", &st2, AT_EMPTY_PATH) == 0);
    printf("AT_EMPTY_PATH same inode: %s\n", st.st_ino == st2.st_ino ? "yes" : "no");
    EXPECT_ERRNO(fchdir(p), ENOTDIR);
    EXPECT_ERRNO(openat(p, "x", O_RDONLY), ENOTDIR);
    int q = dup(p);
    CHECK(q >= 0);
    printf("dup of O_PATH F_GETFL %#x\n", fcntl(q, F_GETFL));
    CHECK(close(q) == 0);
    /* F_SETFL cannot add flags to an O_PATH fd? It reports success. */
    EXPECT_ERRNO(lseek(p, 0, SEEK_SET), EBADF);
    /* Reopening through /proc/self/fd gives a readable fd. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p);
    int r = open(path, O_RDONLY);
    CHECK(r >= 0);
    char buf[8] = {0};
    CHECK(read(r, buf, sizeof buf - 1) == 4);
    printf("reopened O_PATH fd reads %s\n", buf);
    CHECK(close(r) == 0);
    CHECK(close(p) == 0);

    /* O_PATH on a directory: fchdir and openat work. */
    int dp = open("d", O_PATH | O_DIRECTORY);
    CHECK(dp >= 0);
    printf("O_PATH|O_DIRECTORY F_GETFL %#x\n", fcntl(dp, F_GETFL));
    fd = openat(dp, "inner", O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(fchdir(dp) == 0);
    CHECK(access("inner", F_OK) == 0);
    CHECK(chdir("..") == 0);
    CHECK(unlinkat(dp, "inner", 0) == 0);
    CHECK(close(dp) == 0);

    /* O_PATH|O_NOFOLLOW on a symlink: an fd for the link itself. */
    int lp = open("lnk", O_PATH | O_NOFOLLOW);
    CHECK(lp >= 0);
    CHECK(fstat(lp, &st) == 0);
    printf("O_PATH|O_NOFOLLOW on a symlink: is symlink %s size %ld\n",
           S_ISLNK(st.st_mode) ? "yes" : "no", (long)st.st_size);
    char target[16] = {0};
    CHECK(readlinkat(lp, "", target, sizeof target - 1) == 1);
    printf("readlinkat(fd, \"\") = %s\n", target);
    EXPECT_ERRNO(fchdir(lp), ENOTDIR);
    CHECK(close(lp) == 0);
    /* Without O_NOFOLLOW, O_PATH follows the link. */
    lp = open("lnk", O_PATH);
    CHECK(fstat(lp, &st) == 0);
    printf("O_PATH on a symlink follows it: %s\n", S_ISREG(st.st_mode) ? "yes" : "no");
    CHECK(close(lp) == 0);
    /* O_PATH ignores O_CREAT? No: O_CREAT is dropped, so a missing file is ENOENT. */
    EXPECT_ERRNO(open("missing", O_PATH | O_CREAT, 0644), ENOENT);
    /* O_PATH ignores O_TRUNC and the access mode. */
    p = open("f", O_PATH | O_TRUNC | O_RDWR);
    CHECK(p >= 0);
    CHECK(stat("f", &st) == 0);
    printf("O_PATH|O_TRUNC keeps size %ld\n", (long)st.st_size);
    printf("O_PATH|O_RDWR F_GETFL %#x\n", fcntl(p, F_GETFL));
    CHECK(close(p) == 0);
    p = open("f", O_PATH | O_CLOEXEC);
    printf("O_PATH|O_CLOEXEC F_GETFD %d\n", fcntl(p, F_GETFD));
    CHECK(close(p) == 0);

    CHECK(unlink("lnk") == 0);
    CHECK(unlink("f") == 0);
    CHECK(rmdir("d") == 0);
    leave_scratch();
    return finish();
}
