/* Extended attributes on files that have none: get and remove find nothing (ENODATA),
 * list is empty, bad names and missing files give Linux's errors. In a scratch dir. */
#include "common.h"
#include <fcntl.h>
#include <sys/xattr.h>

int main(void) {
    char dir[] = "/tmp/xa-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_CREAT | O_RDWR, 0644);
    CHECK(symlink("f", "l") == 0);
    char buf[64];
    EXPECT_ERRNO(getxattr("f", "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERRNO(lgetxattr("l", "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERRNO(fgetxattr(fd, "user.none", buf, sizeof buf), ENODATA);
    EXPECT_ERRNO(getxattr("missing", "user.none", buf, sizeof buf), ENOENT);
    EXPECT_ERRNO(getxattr("f", "", buf, sizeof buf), ERANGE);
    EXPECT_ERRNO(fgetxattr(999, "user.none", buf, sizeof buf), EBADF);
    EXPECT_ERRNO(removexattr("f", "user.none"), ENODATA);
    EXPECT_ERRNO(removexattr("missing", "user.none"), ENOENT);
    EXPECT_ERRNO(setxattr("f", "user.a", "v", 1, 0x7), EINVAL);
    CHECK(listxattr("d-missing", buf, sizeof buf) == -1 && errno == ENOENT);
    close(fd);
    unlink("f");
    unlink("l");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
