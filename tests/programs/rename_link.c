/* rename/renameat2/link/linkat/symlink/readlink: replacement rules, RENAME_NOREPLACE and
 * RENAME_EXCHANGE, cycles, link counts, readlink truncation. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

static void mk(const char *p, const char *text) {
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

static void show(const char *p) {
    char buf[32] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        printf("%s: missing\n", p);
        return;
    }
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %s\n", p, buf);
}

int main(void) {
    char dir[] = "/tmp/rl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    mk("a", "A");
    mk("b", "B");
    CHECK(mkdir("d", 0755) == 0 && mkdir("e", 0755) == 0 && mkdir("e/sub", 0755) == 0);
    CHECK(rename("a", "b") == 0);
    show("a");
    show("b");
    mk("a", "A2");
    EXPECT_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
    CHECK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE) == 0);
    show("a");
    show("b");
    EXPECT_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
    EXPECT_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "zz", RENAME_EXCHANGE), ENOENT);
    EXPECT_ERRNO(rename("a", "d"), EISDIR);
    EXPECT_ERRNO(rename("d", "a"), ENOTDIR);
    EXPECT_ERRNO(rename("d", "e"), ENOTEMPTY);
    EXPECT_ERRNO(rename("e", "e/sub/x"), EINVAL);
    EXPECT_ERRNO(rename("missing", "x"), ENOENT);
    CHECK(rename("a", "a") == 0);
    CHECK(rename("d", "e/sub2") == 0);
    struct stat st;
    CHECK(stat("e", &st) == 0 && st.st_nlink == 4);
    /* Hard links. */
    CHECK(link("a", "a2") == 0 && stat("a", &st) == 0 && st.st_nlink == 2);
    EXPECT_ERRNO(link("a", "a2"), EEXIST);
    EXPECT_ERRNO(link("e", "e2"), EPERM);
    EXPECT_ERRNO(link("missing", "m2"), ENOENT);
    CHECK(unlink("a") == 0 && stat("a2", &st) == 0 && st.st_nlink == 1);
    show("a2");
    /* Symlinks. */
    CHECK(symlink("a2", "s") == 0);
    CHECK(linkat(AT_FDCWD, "s", AT_FDCWD, "s_nofollow", 0) == 0);
    CHECK(lstat("s_nofollow", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(linkat(AT_FDCWD, "s", AT_FDCWD, "s_follow", AT_SYMLINK_FOLLOW) == 0);
    CHECK(lstat("s_follow", &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 2);
    EXPECT_ERRNO(linkat(AT_FDCWD, "s", AT_FDCWD, "bad", 0x8000), EINVAL);
    char buf[8];
    CHECK(symlink("a-rather-long-target", "long") == 0);
    CHECK(readlink("long", buf, 5) == 5 && memcmp(buf, "a-rat", 5) == 0);
    EXPECT_ERRNO(readlink("long", buf, 0), EINVAL);
    EXPECT_ERRNO(readlink("a2", buf, sizeof buf), EINVAL);
    EXPECT_ERRNO(symlink("", "empty"), ENOENT);
    EXPECT_ERRNO(symlink("x", "s"), EEXIST);
    const char *rm[] = {"a2", "b", "s", "s_nofollow", "s_follow", "long"};
    for (int i = 0; i < 6; i++)
        unlink(rm[i]);
    CHECK(rmdir("e/sub") == 0 && rmdir("e/sub2") == 0 && rmdir("e") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
