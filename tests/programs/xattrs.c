/* Extended attributes that are stored: set/get/list/remove in the user., trusted. and
 * security. namespaces, XATTR_CREATE/XATTR_REPLACE, sizes (ERANGE, E2BIG), the
 * namespace rules (user.* only on regular files and directories; unknown prefixes),
 * through paths, symlinks and descriptors. In a scratch dir. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the names listxattr gives for `path`, sorted. */
static void show_list(const char *path) {
    char buf[4096];
    ssize_t n = listxattr(path, buf, sizeof buf);
    CHECK(n >= 0);
    char *names[64];
    int k = 0;
    for (ssize_t i = 0; i < n && k < 64; i += strlen(buf + i) + 1)
        names[k++] = buf + i;
    qsort(names, k, sizeof names[0], cmp);
    printf("list %s:", path);
    for (int i = 0; i < k; i++)
        printf(" %s", names[i]);
    printf("\n");
}

int main(void) {
    char dir[] = "/tmp/xs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    CHECK(symlink("f", "l") == 0);
    CHECK(mkdir("d", 0755) == 0);
    CHECK(mkfifo("p", 0644) == 0);
    char buf[128];

    CHECK(setxattr("f", "user.a", "v1", 2, 0) == 0);
    CHECK(getxattr("f", "user.a", NULL, 0) == 2);
    CHECK(getxattr("f", "user.a", buf, sizeof buf) == 2 && memcmp(buf, "v1", 2) == 0);
    EXPECT_ERRNO(getxattr("f", "user.a", buf, 1), ERANGE);
    EXPECT_ERRNO(setxattr("f", "user.a", "v2", 2, XATTR_CREATE), EEXIST);
    EXPECT_ERRNO(setxattr("f", "user.b", "v2", 2, XATTR_REPLACE), ENODATA);
    CHECK(setxattr("f", "user.a", "longer value", 12, XATTR_REPLACE) == 0);
    CHECK(fgetxattr(fd, "user.a", buf, sizeof buf) == 12 && memcmp(buf, "longer value", 12) == 0);
    CHECK(fsetxattr(fd, "user.empty", "", 0, XATTR_CREATE) == 0);
    CHECK(getxattr("f", "user.empty", buf, sizeof buf) == 0);
    /* Through the symlink: getxattr follows it, lgetxattr looks at the link. */
    CHECK(getxattr("l", "user.a", buf, sizeof buf) == 12);
    EXPECT_ERRNO(lgetxattr("l", "user.a", buf, sizeof buf), ENODATA);
    EXPECT_ERRNO(lsetxattr("l", "user.a", "x", 1, 0), EPERM);
    EXPECT_ERRNO(setxattr("p", "user.a", "x", 1, 0), EPERM);
    EXPECT_ERRNO(getxattr("p", "user.a", buf, sizeof buf), ENODATA);
    CHECK(setxattr("d", "user.dir", "D", 1, 0) == 0);
    CHECK(getxattr("d", "user.dir", buf, sizeof buf) == 1 && buf[0] == 'D');
    /* Privileged namespaces (root). */
    CHECK(setxattr("f", "trusted.t", "T", 1, 0) == 0);
    CHECK(getxattr("f", "trusted.t", buf, sizeof buf) == 1);
    CHECK(lsetxattr("l", "trusted.onlink", "L", 1, 0) == 0);
    CHECK(lgetxattr("l", "trusted.onlink", buf, sizeof buf) == 1);
    show_list("f");
    show_list("d");
    CHECK(listxattr("f", NULL, 0) == (ssize_t)sizeof "user.a\0user.empty\0trusted.t");
    EXPECT_ERRNO(listxattr("f", buf, 4), ERANGE);
    CHECK(llistxattr("l", buf, sizeof buf) == (ssize_t)sizeof "trusted.onlink");
    CHECK(flistxattr(fd, buf, sizeof buf) > 0);

    /* Names and sizes. */
    EXPECT_ERRNO(setxattr("f", "nonsense.a", "x", 1, 0), EOPNOTSUPP);
    EXPECT_ERRNO(getxattr("f", "nonsense.a", buf, sizeof buf), EOPNOTSUPP);
    EXPECT_ERRNO(setxattr("f", "user.", "x", 1, 0), EINVAL);
    EXPECT_ERRNO(setxattr("f", "", "x", 1, 0), ERANGE);
    static char name[300], big[70000];
    memset(name, 'n', sizeof name - 1);
    memcpy(name, "user.", 5);
    EXPECT_ERRNO(setxattr("f", name, "x", 1, 0), ERANGE);
    EXPECT_ERRNO(setxattr("f", "user.big", big, sizeof big, 0), E2BIG);
    EXPECT_ERRNO(syscall(SYS_setxattr, "f", "user.a", 8L, 4L, 0L), EFAULT);
    EXPECT_ERRNO(setxattr("f", "user.a", "x", 1, 4), EINVAL);
    EXPECT_ERRNO(setxattr("missing", "user.a", "x", 1, 0), ENOENT);
    EXPECT_ERRNO(fsetxattr(999, "user.a", "x", 1, 0), EBADF);

    /* Removal. */
    CHECK(removexattr("f", "user.a") == 0);
    EXPECT_ERRNO(removexattr("f", "user.a"), ENODATA);
    EXPECT_ERRNO(getxattr("f", "user.a", buf, sizeof buf), ENODATA);
    CHECK(fremovexattr(fd, "user.empty") == 0);
    CHECK(lremovexattr("l", "trusted.onlink") == 0);
    CHECK(removexattr("f", "trusted.t") == 0);
    CHECK(listxattr("f", buf, sizeof buf) == 0);
    /* Attributes follow the inode through a rename and a hard link. */
    CHECK(setxattr("f", "user.keep", "K", 1, 0) == 0);
    CHECK(rename("f", "g") == 0 && link("g", "h") == 0);
    CHECK(getxattr("h", "user.keep", buf, sizeof buf) == 1 && buf[0] == 'K');

    close(fd);
    unlink("g");
    unlink("h");
    unlink("l");
    unlink("p");
    rmdir("d");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
