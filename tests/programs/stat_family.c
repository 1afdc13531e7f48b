/* stat, lstat, fstat, newfstatat (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, bad flags), statx
 * (basic fields, AT_STATX_SYNC_TYPE, reserved mask bit): modes, link counts, sizes,
 * owners and the agreement between the calls. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(void) {
    char dir[] = "/tmp/sf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_CREAT | O_RDWR, 0604);
    CHECK(write(fd, "12345", 5) == 5);
    CHECK(symlink("f", "l") == 0 && mkdir("d", 0711) == 0);
    struct stat a, b, c;
    CHECK(stat("f", &a) == 0 && fstat(fd, &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == 5 && a.st_nlink == 1);
    printf("f mode %o uid==getuid %d\n", a.st_mode, a.st_uid == getuid());
    CHECK(lstat("l", &c) == 0 && S_ISLNK(c.st_mode) && c.st_size == 1);
    CHECK(stat("l", &c) == 0 && c.st_ino == a.st_ino);
    CHECK(stat("d", &c) == 0 && S_ISDIR(c.st_mode) && (c.st_mode & 07777) == 0711);
    CHECK(fstatat(AT_FDCWD, "l", &c, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(c.st_mode));
    CHECK(fstatat(fd, "", &c, AT_EMPTY_PATH) == 0 && c.st_ino == a.st_ino);
    EXPECT_ERRNO(fstatat(fd, "", &c, 0), ENOENT);
    EXPECT_ERRNO(fstatat(AT_FDCWD, "f", &c, 0x1), EINVAL);
    EXPECT_ERRNO(fstatat(fd, "x", &c, 0), ENOTDIR);
    EXPECT_ERRNO(stat("missing", &c), ENOENT);
    EXPECT_ERRNO(stat("f/x", &c), ENOTDIR);
    struct statx sx;
    CHECK(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx) == 0);
    CHECK((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
    CHECK(sx.stx_size == 5 && sx.stx_nlink == 1 && sx.stx_ino == a.st_ino && (sx.stx_mode & 07777) == 0604);
    CHECK(sx.stx_mtime.tv_sec == a.st_mtim.tv_sec && sx.stx_mtime.tv_nsec == (unsigned)a.st_mtim.tv_nsec);
    CHECK(statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 && S_ISLNK(sx.stx_mode));
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && sx.stx_ino == a.st_ino);
    EXPECT_ERRNO(statx(AT_FDCWD, "f", AT_STATX_SYNC_TYPE, STATX_BASIC_STATS, &sx), EINVAL);
    EXPECT_ERRNO(statx(AT_FDCWD, "f", 0, 0x80000000U, &sx), EINVAL);
    EXPECT_ERRNO(statx(AT_FDCWD, "f", 0x1, STATX_BASIC_STATS, &sx), EINVAL);
    EXPECT_ERRNO(stat("f", (struct stat *)8), EFAULT);
    close(fd);
    unlink("f");
    unlink("l");
    rmdir("d");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
