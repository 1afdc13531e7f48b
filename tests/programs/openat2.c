/* openat2: struct open_how validation (size, unknown flags, mode without
 * O_CREAT, unknown resolve bits, trailing bytes) and the RESOLVE_* rules:
 * BENEATH, IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV. */
#include "common.h"
#include <fcntl.h>
#include <linux/openat2.h>
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

static long o2(int dfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    return syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

static int same_file(int a, int b) {
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(void) {
    enter_scratch();
    CHECK(mkdir("root", 0755) == 0);
    CHECK(mkdir("root/sub", 0755) == 0);
    int fd = open("root/file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    fd = open("outside", O_CREAT | O_WRONLY, 0644);
    CHECK(close(fd) == 0);
    CHECK(symlink("/file", "root/abs") == 0);
    CHECK(symlink("../../outside", "root/sub/up") == 0);
    CHECK(symlink("file", "root/rel") == 0);
    CHECK(symlink("../file", "root/sub/rel") == 0);
    int root = open("root", O_RDONLY | O_DIRECTORY);
    CHECK(root >= 0);

    /* Validation of struct open_how. */
    struct open_how how = {.flags = O_RDONLY};
    EXPECT_ERRNO(syscall(SYS_openat2, root, "file", &how, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_openat2, root, "file", &how, 24 - 1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_openat2, root, "file", NULL, sizeof how), EFAULT);
    EXPECT_ERRNO(o2(root, "file", 1ULL << 40, 0, 0), EINVAL);
    EXPECT_ERRNO(o2(root, "file", O_RDONLY, 0644, 0), EINVAL);
    EXPECT_ERRNO(o2(root, "new", O_CREAT | O_WRONLY, 07777 + 1, 0), EINVAL);
    EXPECT_ERRNO(o2(root, "file", O_RDONLY, 0, 1ULL << 20), EINVAL);
    EXPECT_ERRNO(o2(root, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT), EINVAL);
    /* A larger struct is fine if the extra bytes are zero, E2BIG otherwise. */
    struct {
        struct open_how how;
        uint64_t extra;
    } big = {{.flags = O_RDONLY}, 0};
    fd = syscall(SYS_openat2, root, "file", &big, sizeof big);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    big.extra = 1;
    EXPECT_ERRNO(syscall(SYS_openat2, root, "file", &big, sizeof big), E2BIG);
    /* The plain open checks still apply. */
    EXPECT_ERRNO(o2(root, "file", O_RDONLY | O_DIRECTORY, 0, 0), ENOTDIR);
    EXPECT_ERRNO(o2(root, "missing", O_RDONLY, 0, 0), ENOENT);
    fd = o2(root, "created", O_CREAT | O_EXCL | O_WRONLY, 0600, 0);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    EXPECT_ERRNO(o2(root, "created", O_CREAT | O_EXCL | O_WRONLY, 0600, 0), EEXIST);
    CHECK(unlinkat(root, "created", 0) == 0);

    /* RESOLVE_BENEATH */
    fd = o2(root, "sub/../file", O_RDONLY, 0, RESOLVE_BENEATH);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    EXPECT_ERRNO(o2(root, "../outside", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
    EXPECT_ERRNO(o2(root, "sub/../../outside", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
    EXPECT_ERRNO(o2(root, "/", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
    EXPECT_ERRNO(o2(root, "abs", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
    EXPECT_ERRNO(o2(root, "sub/up", O_RDONLY, 0, RESOLVE_BENEATH), EXDEV);
    fd = o2(root, "rel", O_RDONLY, 0, RESOLVE_BENEATH);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    fd = o2(root, "sub/rel", O_RDONLY, 0, RESOLVE_BENEATH);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    fd = o2(root, ".", O_RDONLY, 0, RESOLVE_BENEATH);
    CHECK(fd >= 0 && same_file(fd, root));
    CHECK(close(fd) == 0);

    /* RESOLVE_IN_ROOT: "/" and ".." at the top are the dirfd. */
    int f1 = o2(root, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT);
    int f2 = openat(root, "file", O_RDONLY);
    CHECK(f1 >= 0 && same_file(f1, f2));
    CHECK(close(f1) == 0);
    f1 = o2(root, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
    CHECK(f1 >= 0 && same_file(f1, f2));
    CHECK(close(f1) == 0);
    f1 = o2(root, "../../../file", O_RDONLY, 0, RESOLVE_IN_ROOT);
    CHECK(f1 >= 0 && same_file(f1, f2));
    CHECK(close(f1) == 0);
    /* sub/up is ../../outside: inside the root that is /outside, which does not exist. */
    EXPECT_ERRNO(o2(root, "sub/up", O_RDONLY, 0, RESOLVE_IN_ROOT), ENOENT);
    fd = o2(root, "/", O_RDONLY, 0, RESOLVE_IN_ROOT);
    CHECK(fd >= 0 && same_file(fd, root));
    CHECK(close(fd) == 0);
    CHECK(close(f2) == 0);

    /* RESOLVE_NO_SYMLINKS: any symlink on the way, ELOOP; O_PATH|O_NOFOLLOW of the last one is allowed. */
    EXPECT_ERRNO(o2(root, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS), ELOOP);
    CHECK(symlink("sub", "root/sublink") == 0);
    EXPECT_ERRNO(o2(root, "sublink/rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS), ELOOP);
    fd = o2(root, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    fd = o2(root, "sub/../file", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);

    /* RESOLVE_NO_MAGICLINKS: /proc/self/fd/N is refused; plain symlinks are fine. */
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", root);
    fd = o2(AT_FDCWD, magic, O_RDONLY, 0, 0);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    EXPECT_ERRNO(o2(AT_FDCWD, magic, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS), ELOOP);
    fd = o2(root, "rel", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);

    /* RESOLVE_NO_XDEV: /proc is another mount. */
    EXPECT_ERRNO(o2(AT_FDCWD, "/proc/self", O_RDONLY, 0, RESOLVE_NO_XDEV), EXDEV);
    fd = o2(root, "sub", O_RDONLY, 0, RESOLVE_NO_XDEV);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);

    CHECK(close(root) == 0);
    CHECK(unlink("root/sublink") == 0);
    CHECK(unlink("root/sub/rel") == 0);
    CHECK(unlink("root/sub/up") == 0);
    CHECK(unlink("root/rel") == 0);
    CHECK(unlink("root/abs") == 0);
    CHECK(unlink("root/file") == 0);
    CHECK(rmdir("root/sub") == 0);
    CHECK(rmdir("root") == 0);
    CHECK(unlink("outside") == 0);
    leave_scratch();
    return finish();
}
