/* Modes and owners: chmod/fchmod/fchmodat/fchmodat2 (special bits, symlinks,
 * flags), umask on every way of creating, chown/fchown/lchown/fchownat (-1, symlinks,
 * AT_EMPTY_PATH, set-ID bits cleared), and access/faccessat/faccessat2 as root. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static unsigned mode_of(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0 ? st.st_mode : 0;
}

static void owner(const char *what, const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0) {
        printf("%s: %s\n", what, errname(errno));
        return;
    }
    printf("%s: uid %u gid %u mode %o\n", what, st.st_uid, st.st_gid, st.st_mode);
}

int main(void) {
    char dir[] = "/tmp/om-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);

    /* umask applies to every creation. */
    umask(022);
    CHECK(umask(027) == 022);
    int fd = creat("f", 0777);
    CHECK(fd >= 0);
    printf("creat 0777: %o\n", mode_of("f"));
    CHECK(mkdir("d", 0777) == 0);
    printf("mkdir 0777: %o\n", mode_of("d"));
    CHECK(mknod("n", S_IFREG | 0666, 0) == 0);
    printf("mknod 0666: %o\n", mode_of("n"));
    CHECK(mknod("n0", 0644, 0) == 0);
    printf("mknod no type: %o\n", mode_of("n0"));
    int tf = open(".", O_TMPFILE | O_RDWR, 0777);
    struct stat st;
    CHECK(tf >= 0 && fstat(tf, &st) == 0);
    printf("O_TMPFILE 0777: %o\n", st.st_mode);
    CHECK(symlink("f", "l") == 0);
    printf("symlink: %o\n", mode_of("l"));
    EXPECT_ERRNO(mknod("bad", S_IFDIR | 0755, 0), EPERM);
    EXPECT_ERRNO(mknod("bad", 0170000 | 0755, 0), EINVAL);
    EXPECT_ERRNO(mknod("f", S_IFREG | 0644, 0), EEXIST);
    CHECK(umask(0) == 027);
    int sp = open("special", O_CREAT | O_RDWR, 07777);
    CHECK(sp >= 0);
    printf("open 07777 umask 0: %o\n", mode_of("special"));
    CHECK(mkdir("sd", 07777) == 0);
    printf("mkdir 07777 umask 0: %o\n", mode_of("sd"));
    CHECK(umask(022) == 0);

    /* chmod and friends. */
    CHECK(chmod("f", 07755) == 0);
    printf("chmod 07755: %o\n", mode_of("f"));
    CHECK(fchmod(fd, 0100644) == 0);
    printf("fchmod with type bits: %o\n", mode_of("f"));
    CHECK(chmod("l", 0600) == 0);
    printf("chmod through link: %o link %o\n", mode_of("f"), mode_of("l"));
    CHECK(fchmodat(AT_FDCWD, "f", 04711, 0) == 0);
    printf("fchmodat: %o\n", mode_of("f"));
    EXPECT_ERRNO(fchmodat(AT_FDCWD, "l", 0644, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
    EXPECT_ERRNO(fchmodat(AT_FDCWD, "f", 0644, 0x4000), EINVAL);
    CHECK(fchmodat(AT_FDCWD, "f", 0640, AT_SYMLINK_NOFOLLOW) == 0);
    printf("fchmodat nofollow on file: %o\n", mode_of("f"));
    EXPECT_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "l", 0644, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
    EXPECT_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "f", 0644, 0x4000), EINVAL);
    EXPECT_ERRNO(syscall(SYS_fchmodat2, AT_FDCWD, "", 0644, 0), ENOENT);
    CHECK(syscall(SYS_fchmodat2, AT_FDCWD, "l", 0604, 0) == 0);
    printf("fchmodat2 through link: %o\n", mode_of("f"));
    int pf = open("f", O_PATH);
    EXPECT_ERRNO(fchmod(pf, 0644), EBADF);
    CHECK(syscall(SYS_fchmodat2, pf, "", 0614, AT_EMPTY_PATH) == 0);
    printf("fchmodat2 empty path: %o\n", mode_of("f"));
    int pl = open("l", O_PATH | O_NOFOLLOW);
    EXPECT_ERRNO(syscall(SYS_fchmodat2, pl, "", 0644, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(fchmod(dfd, 01777) == 0);
    printf("fchmod dir sticky: %o\n", mode_of("d"));
    EXPECT_ERRNO(chmod("missing", 0644), ENOENT);
    EXPECT_ERRNO(chmod("f/x", 0644), ENOTDIR);
    EXPECT_ERRNO(fchmod(999, 0644), EBADF);

    /* A root write keeps the set-ID bits (CAP_FSETID). */
    CHECK(fchmod(fd, 06755) == 0);
    CHECK(write(fd, "data", 4) == 4 && ftruncate(fd, 2) == 0);
    printf("after root write: %o\n", mode_of("f"));

    /* chown: ids, -1 unchanged, set-ID bits cleared on non-directories. */
    CHECK(chown("f", 1234, 5678) == 0);
    owner("chown", "f");
    CHECK(fchmod(fd, 06755) == 0 && chown("f", -1, -1) == 0);
    owner("chown -1 -1", "f");
    CHECK(fchmod(fd, 06745) == 0 && fchown(fd, 42, -1) == 0);
    owner("fchown uid, no group x", "f");
    CHECK(fchmod(fd, 02755) == 0 && fchown(fd, -1, 43) == 0);
    owner("fchown gid", "f");
    CHECK(chmod("sd", 07755) == 0 && chown("sd", 7, 8) == 0);
    owner("chown dir", "sd");
    /* A set-group-ID directory passes its group on, and the bit to subdirectories. */
    CHECK(mkdir("sd/sub", 0777) == 0 && close(creat("sd/file", 0777)) == 0);
    owner("under setgid: dir", "sd/sub");
    owner("under setgid: file", "sd/file");
    CHECK(unlink("sd/file") == 0 && rmdir("sd/sub") == 0);
    CHECK(lchown("l", 11, 12) == 0);
    owner("lchown link", "l");
    owner("lchown target", "f");
    CHECK(chown("l", 13, 14) == 0);
    owner("chown through link", "f");
    CHECK(fchownat(AT_FDCWD, "l", 15, 16, AT_SYMLINK_NOFOLLOW) == 0);
    owner("fchownat nofollow", "l");
    CHECK(fchownat(dfd, "", 17, 18, AT_EMPTY_PATH) == 0);
    owner("fchownat empty path", "d");
    CHECK(fchownat(pl, "", 19, 20, AT_EMPTY_PATH) == 0);
    owner("fchownat empty path O_PATH link", "l");
    CHECK(fchown(tf, 21, 22) == 0 && fstat(tf, &st) == 0 && st.st_uid == 21 && st.st_gid == 22);
    EXPECT_ERRNO(fchownat(AT_FDCWD, "f", 0, 0, 0x4000), EINVAL);
    EXPECT_ERRNO(fchownat(AT_FDCWD, "", 0, 0, 0), ENOENT);
    EXPECT_ERRNO(fchown(pf, 0, 0), EBADF);
    EXPECT_ERRNO(fchown(999, 0, 0), EBADF);
    EXPECT_ERRNO(chown("missing", 0, 0), ENOENT);
    CHECK(symlink("missing", "dangling") == 0);
    EXPECT_ERRNO(chown("dangling", 0, 0), ENOENT);
    CHECK(lchown("dangling", 3, 4) == 0);
    owner("lchown dangling", "dangling");

    /* access as root: R and W always, X only with some x bit (dirs always). */
    CHECK(chmod("n", 0) == 0);
    CHECK(access("n", R_OK | W_OK) == 0);
    EXPECT_ERRNO(access("n", X_OK), EACCES);
    CHECK(chmod("n", 0010) == 0 && access("n", X_OK) == 0);
    CHECK(chmod("d", 0) == 0 && access("d", R_OK | W_OK | X_OK) == 0);
    CHECK(access("n", F_OK) == 0);
    EXPECT_ERRNO(access("missing", F_OK), ENOENT);
    EXPECT_ERRNO(access("dangling", F_OK), ENOENT);
    EXPECT_ERRNO(access("n", 8), EINVAL);
    EXPECT_ERRNO(access("n/x", F_OK), ENOTDIR);
    CHECK(chmod("n0", 0) == 0 && symlink("n0", "ln0") == 0);
    EXPECT_ERRNO(syscall(SYS_faccessat, AT_FDCWD, "ln0", X_OK), EACCES);
    EXPECT_ERRNO(syscall(SYS_faccessat, AT_FDCWD, "n0", 8), EINVAL);
    CHECK(syscall(SYS_faccessat, dfd, ".", R_OK) == 0);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "ln0", X_OK, 0), EACCES);
    CHECK(syscall(SYS_faccessat2, AT_FDCWD, "ln0", X_OK, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(syscall(SYS_faccessat2, AT_FDCWD, "n0", R_OK, AT_EACCESS) == 0);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "n0", X_OK, AT_EACCESS), EACCES);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "n0", R_OK, 0x4000), EINVAL);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "n0", 8, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "", R_OK, 0), ENOENT);
    CHECK(syscall(SYS_faccessat2, pf, "", R_OK, AT_EMPTY_PATH) == 0);
    CHECK(faccessat(AT_FDCWD, "ln0", R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0);
    EXPECT_ERRNO(faccessat(AT_FDCWD, "n0", R_OK, 0x4000), EINVAL);

    for (int i = 3; i < 20; i++)
        close(i);
    const char *names[] = {"f", "n", "n0", "l", "special", "dangling", "ln0"};
    for (int i = 0; i < 7; i++)
        CHECK(unlink(names[i]) == 0);
    CHECK(rmdir("d") == 0 && rmdir("sd") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
