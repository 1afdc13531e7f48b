/* Trailing slashes: a path ending in "/" must name a directory (or a symlink
 * to one), for stat, lstat, open, mkdir, rmdir, unlink, rename, link,
 * symlink and mknod. */
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
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(mkdir("dir", 0755) == 0);
    CHECK(symlink("dir", "dlink") == 0);
    CHECK(symlink("file", "flink") == 0);
    struct stat st;

    /* stat/lstat */
    CHECK(stat("dir/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("dir//", &st) == 0 && S_ISDIR(st.st_mode));
    EXPECT_ERRNO(stat("file/", &st), ENOTDIR);
    EXPECT_ERRNO(lstat("file/", &st), ENOTDIR);
    CHECK(lstat("dlink/", &st) == 0 && S_ISDIR(st.st_mode));
    EXPECT_ERRNO(lstat("flink/", &st), ENOTDIR);
    EXPECT_ERRNO(stat("missing/", &st), ENOENT);

    /* open */
    fd = open("dir/", O_RDONLY);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    EXPECT_ERRNO(open("file/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("flink/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(open("new/", O_CREAT | O_WRONLY, 0644), EISDIR);
    EXPECT_ERRNO(open("dir/", O_CREAT | O_RDONLY, 0644), EISDIR);

    /* mkdir accepts trailing slashes; EEXIST for anything existing. */
    CHECK(mkdir("new/", 0755) == 0);
    CHECK(stat("new", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(mkdir("new2///", 0755) == 0);
    EXPECT_ERRNO(mkdir("file/", 0755), EEXIST);
    EXPECT_ERRNO(mkdir("dir/", 0755), EEXIST);
    EXPECT_ERRNO(mkdir("dlink/", 0755), EEXIST);
    CHECK(symlink("nowhere", "dangling") == 0);
    EXPECT_ERRNO(mkdir("dangling/", 0755), EEXIST);
    EXPECT_ERRNO(mkdir("dangling", 0755), EEXIST);

    /* rmdir */
    CHECK(rmdir("new/") == 0);
    CHECK(rmdir("new2//") == 0);
    EXPECT_ERRNO(rmdir("file/"), ENOTDIR);
    EXPECT_ERRNO(rmdir("dlink/"), ENOTDIR);
    EXPECT_ERRNO(rmdir("dlink"), ENOTDIR);
    EXPECT_ERRNO(rmdir("missing/"), ENOENT);

    /* unlink */
    EXPECT_ERRNO(unlink("file/"), ENOTDIR);
    EXPECT_ERRNO(unlink("flink/"), ENOTDIR);
    EXPECT_ERRNO(unlink("dir/"), EISDIR);
    EXPECT_ERRNO(unlink("dlink/"), ENOTDIR); /* as Linux 6.x: the link itself is not a directory */
    EXPECT_ERRNO(unlink("dangling/"), ENOTDIR);
    CHECK(lstat("dlink", &st) == 0);

    /* rename */
    EXPECT_ERRNO(rename("file/", "file2"), ENOTDIR);
    EXPECT_ERRNO(rename("file", "file2/"), ENOTDIR);
    CHECK(access("file2", F_OK) == -1);
    CHECK(rename("dir/", "dir2/") == 0);
    CHECK(rename("dir2", "dir/") == 0);
    CHECK(stat("dir", &st) == 0 && S_ISDIR(st.st_mode));
    EXPECT_ERRNO(rename("flink/", "x"), ENOTDIR);
    /* A symlink to a directory with a trailing slash names the link itself for rename's source. */
    errno = 0;
    printf("rename(\"dlink/\", \"dl2\"): %s\n", rename("dlink/", "dl2") == 0 ? "ok" : errname(errno));
    if (lstat("dl2", &st) == 0)
        CHECK(rename("dl2", "dlink") == 0);

    /* link/symlink/mknod with a trailing slash on the new name. */
    EXPECT_ERRNO(link("file", "hard/"), ENOENT);
    EXPECT_ERRNO(link("file/", "hard"), ENOTDIR);
    EXPECT_ERRNO(symlink("file", "sl/"), ENOENT);
    EXPECT_ERRNO(mknod("node/", S_IFREG | 0644, 0), ENOENT);
    EXPECT_ERRNO(mknod("file/", S_IFREG | 0644, 0), EEXIST);
    CHECK(access("hard", F_OK) == -1 && access("sl", F_OK) == -1 && access("node", F_OK) == -1);

    /* A symlink with a trailing slash in its target. */
    CHECK(symlink("file/", "fslash") == 0);
    EXPECT_ERRNO(stat("fslash", &st), ENOTDIR);
    CHECK(symlink("dir/", "dslash") == 0);
    CHECK(stat("dslash", &st) == 0 && S_ISDIR(st.st_mode));

    CHECK(unlink("dslash") == 0);
    CHECK(unlink("fslash") == 0);
    CHECK(unlink("dangling") == 0);
    CHECK(unlink("flink") == 0);
    CHECK(unlink("dlink") == 0);
    CHECK(rmdir("dir") == 0);
    CHECK(unlink("file") == 0);
    leave_scratch();
    return finish();
}
