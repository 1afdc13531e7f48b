/* Bad path arguments: too long (whole path >= PATH_MAX, one component > NAME_MAX, a
 * symlink target), bad pointers (unmapped, PROT_NONE, a string running into an
 * unmapped page), directories opened for writing, the flag combinations open, openat
 * and openat2 reject, O_DIRECTORY/O_NOFOLLOW/O_EXCL/trailing-slash/empty-path errors. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>

static void *volatile bad_ptr = (void *)1;

static long openat2_(int dirfd, const char *path, void *how, size_t size) {
    return syscall(SYS_openat2, dirfd, path, how, size);
}

int main(void) {
    char dir[] = "/tmp/bp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(mkdir("d", 0755) == 0 && symlink("file", "link") == 0);
    struct stat st;

    /* Whole path: PATH_MAX bytes with its NUL is too long, one less is fine. */
    static char longp[PATH_MAX + 10];
    memset(longp, '/', sizeof longp);
    longp[PATH_MAX] = 0; /* 4096 slashes + NUL: too long */
    EXPECT_ERRNO(open(longp, O_RDONLY), ENAMETOOLONG);
    EXPECT_ERRNO(stat(longp, &st), ENAMETOOLONG);
    EXPECT_ERRNO(mkdir(longp, 0755), ENAMETOOLONG);
    EXPECT_ERRNO(unlink(longp), ENAMETOOLONG);
    EXPECT_ERRNO(rename(longp, "x"), ENAMETOOLONG);
    EXPECT_ERRNO(rename("file", longp), ENAMETOOLONG);
    EXPECT_ERRNO(access(longp, F_OK), ENAMETOOLONG);
    longp[PATH_MAX - 1] = 0; /* 4095 slashes: "/" */
    CHECK(stat(longp, &st) == 0 && S_ISDIR(st.st_mode));
    /* A symlink target of PATH_MAX bytes or more. */
    static char target[PATH_MAX + 10];
    memset(target, 'a', sizeof target);
    target[PATH_MAX] = 0;
    EXPECT_ERRNO(symlink(target, "toolong"), ENAMETOOLONG);
    target[PATH_MAX - 1] = 0;
    CHECK(symlink(target, "longest") == 0);
    static char got[PATH_MAX + 10];
    CHECK(readlink("longest", got, sizeof got) == PATH_MAX - 1);
    EXPECT_ERRNO(stat("longest", &st), ENAMETOOLONG);
    CHECK(unlink("longest") == 0);

    /* Components: 255 bytes work, 256 do not. */
    char name[300];
    memset(name, 'c', 256);
    name[256] = 0;
    EXPECT_ERRNO(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    EXPECT_ERRNO(mkdir(name, 0755), ENAMETOOLONG);
    EXPECT_ERRNO(symlink("file", name), ENAMETOOLONG);
    EXPECT_ERRNO(link("file", name), ENAMETOOLONG);
    EXPECT_ERRNO(rename("file", name), ENAMETOOLONG);
    EXPECT_ERRNO(unlink(name), ENAMETOOLONG);
    name[255] = 0;
    fd = open(name, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(rename(name, "short") == 0 && mkdir(name, 0755) == 0 && rmdir(name) == 0 && unlink("short") == 0);

    /* Bad pointers. */
    long pg = sysconf(_SC_PAGESIZE);
    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(none != MAP_FAILED && two != MAP_FAILED && munmap(two + pg, pg) == 0);
    char *edge = two + pg - 4; /* "file" with no NUL before the unmapped page */
    memcpy(edge, "file", 4);
    const char *bads[] = {(const char *)bad_ptr, none, edge};
    for (int i = 0; i < 3; i++) {
        const char *p = bads[i];
        printf("bad pointer %d\n", i);
        EXPECT_ERRNO(open(p, O_RDONLY), EFAULT);
        EXPECT_ERRNO(open(p, O_CREAT | O_WRONLY, 0644), EFAULT);
        EXPECT_ERRNO(stat(p, &st), EFAULT);
        EXPECT_ERRNO(lstat(p, &st), EFAULT);
        EXPECT_ERRNO(mkdir(p, 0755), EFAULT);
        EXPECT_ERRNO(access(p, F_OK), EFAULT);
        EXPECT_ERRNO(unlink(p), EFAULT);
        EXPECT_ERRNO(rename(p, "x"), EFAULT);
        EXPECT_ERRNO(rename("file", p), EFAULT);
        EXPECT_ERRNO(symlink(p, "x"), EFAULT);
        EXPECT_ERRNO(chdir(p), EFAULT);
        EXPECT_ERRNO(readlink(p, got, 10), EFAULT);
    }
    EXPECT_ERRNO(stat("file", (struct stat *)bad_ptr), EFAULT);
    EXPECT_ERRNO(readlink("link", (char *)bad_ptr, 10), EFAULT);
    EXPECT_ERRNO(readlink("link", none, 10), EFAULT);
    EXPECT_ERRNO(syscall(SYS_getcwd, bad_ptr, 100), EFAULT);
    CHECK(munmap(none, pg) == 0 && munmap(two, pg) == 0);

    /* Directories cannot be opened for writing. */
    EXPECT_ERRNO(open("d", O_WRONLY), EISDIR);
    EXPECT_ERRNO(open("d", O_RDWR), EISDIR);
    EXPECT_ERRNO(open("d", O_RDONLY | O_TRUNC), EISDIR);
    EXPECT_ERRNO(open("d", O_WRONLY | O_CREAT, 0644), EISDIR);
    EXPECT_ERRNO(open("/", O_RDWR), EISDIR);

    /* O_TMPFILE and O_PATH combinations. */
    EXPECT_ERRNO(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    EXPECT_ERRNO(open(".", O_TMPFILE | O_WRONLY | O_CREAT, 0600), EINVAL);
    EXPECT_ERRNO(open(".", (O_TMPFILE & ~O_DIRECTORY) | O_RDWR, 0600), EINVAL);
    /* O_PATH drops O_TMPFILE, O_CREAT and the access mode before they are checked. */
    fd = open(".", O_TMPFILE | O_PATH, 0600);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && close(fd) == 0);
    fd = open(".", O_TMPFILE | O_PATH | O_CREAT | O_WRONLY, 0600);
    CHECK(fd >= 0 && close(fd) == 0);
    fd = open("file", O_PATH | O_CREAT | O_EXCL | O_TRUNC | O_RDWR, 0600);
    CHECK(fd >= 0 && close(fd) == 0);
    EXPECT_ERRNO(open("file", O_TMPFILE | O_WRONLY, 0600), ENOTDIR);
    fd = open(".", O_TMPFILE | O_RDWR, 0600);
    CHECK(fd >= 0 && close(fd) == 0);

    /* openat2. */
    struct open_how how = {.flags = O_RDONLY};
    fd = openat2_(AT_FDCWD, "file", &how, sizeof how);
    CHECK(fd >= 0 && close(fd) == 0);
    how.flags = 1ULL << 40;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, sizeof how), EINVAL);
    how.flags = O_RDONLY;
    how.resolve = 0x100;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, sizeof how), EINVAL);
    how.resolve = 0;
    how.mode = 0644;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, sizeof how), EINVAL);
    how.flags = O_CREAT | O_WRONLY;
    how.mode = 010000;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "new", &how, sizeof how), EINVAL);
    how.mode = 0;
    how.flags = O_TMPFILE | O_RDONLY;
    EXPECT_ERRNO(openat2_(AT_FDCWD, ".", &how, sizeof how), EINVAL);
    how.flags = O_PATH | O_TMPFILE;
    EXPECT_ERRNO(openat2_(AT_FDCWD, ".", &how, sizeof how), EINVAL);
    how.flags = O_PATH | O_RDWR;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, sizeof how), EINVAL);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    fd = openat2_(AT_FDCWD, "link", &how, sizeof how);
    CHECK(fd >= 0 && close(fd) == 0);
    how.flags = O_RDONLY;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, 8), EINVAL);
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, 0), EINVAL);
    struct {
        struct open_how h;
        unsigned long long extra;
    } big = {{.flags = O_RDONLY}, 0};
    fd = openat2_(AT_FDCWD, "file", &big, sizeof big);
    CHECK(fd >= 0 && close(fd) == 0);
    big.extra = 1;
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &big, sizeof big), E2BIG);
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", bad_ptr, sizeof how), EFAULT);
    EXPECT_ERRNO(openat2_(AT_FDCWD, "file", &how, 4097), E2BIG);

    /* Type and existence errors. */
    EXPECT_ERRNO(open("file", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERRNO(open("link", O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_ERRNO(open("link", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERRNO(open("file", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERRNO(open("link", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERRNO(open("d", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
    EXPECT_ERRNO(open("file/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(stat("file/", &st), ENOTDIR);
    EXPECT_ERRNO(open("file/x", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("", O_RDONLY), ENOENT);
    EXPECT_ERRNO(stat("", &st), ENOENT);
    EXPECT_ERRNO(mkdir("", 0755), ENOENT);
    EXPECT_ERRNO(unlink(""), ENOENT);
    fd = open("file", O_RDONLY);
    struct stat a, b;
    CHECK(fstatat(fd, "", &a, AT_EMPTY_PATH) == 0 && stat("file", &b) == 0 && a.st_ino == b.st_ino);
    EXPECT_ERRNO(fstatat(fd, "", &a, 0), ENOENT);
    CHECK(fstatat(AT_FDCWD, "", &a, AT_EMPTY_PATH) == 0 && S_ISDIR(a.st_mode));
    EXPECT_ERRNO(fstatat(fd, "x", &a, 0), ENOTDIR);
    close(fd);
    EXPECT_ERRNO(fstatat(fd, "", &a, AT_EMPTY_PATH), EBADF);

    CHECK(unlink("link") == 0 && unlink("file") == 0 && rmdir("d") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
