/* Symlink resolution: relative and absolute targets, links in the middle of
 * a path, dangling links, self and mutual loops (ELOOP), and the limit of 40
 * links followed per lookup: a chain of 40 resolves, 41 is ELOOP. */
#include "common.h"
#include <fcntl.h>
#include <limits.h>
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
    CHECK(write(fd, "content", 7) == 7);
    CHECK(close(fd) == 0);
    CHECK(mkdir("dir", 0755) == 0);
    struct stat st;
    char buf[64];

    /* Relative target, resolved against the link's directory. */
    CHECK(symlink("../file", "dir/up") == 0);
    fd = open("dir/up", O_RDONLY);
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 7);
    printf("dir/up reads %s\n", buf);
    CHECK(close(fd) == 0);
    /* Absolute target. */
    char cwd[PATH_MAX], target[PATH_MAX + 16];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(target, sizeof target, "%s/file", cwd);
    CHECK(symlink(target, "abs") == 0);
    CHECK(stat("abs", &st) == 0);
    printf("abs -> regular file of size %ld\n", (long)st.st_size);
    /* A link to a directory in the middle of a path. */
    CHECK(symlink("dir", "dlink") == 0);
    CHECK(stat("dlink/up", &st) == 0);
    printf("dlink/up size %ld\n", (long)st.st_size);
    CHECK(lstat("dlink", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat("dlink/", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lstat("dlink/.", &st) == 0 && S_ISDIR(st.st_mode));
    /* ".." after a symlink is the parent of the target, not of the link. */
    CHECK(mkdir("dir/inner", 0755) == 0);
    CHECK(symlink("dir/inner", "ilink") == 0);
    struct stat a, b;
    CHECK(stat("ilink/..", &a) == 0 && stat("dir", &b) == 0);
    printf("ilink/.. is dir: %s\n", a.st_ino == b.st_ino ? "yes" : "no");
    CHECK(rmdir("dir/inner") == 0);
    CHECK(unlink("ilink") == 0);

    /* Dangling link. */
    CHECK(symlink("nowhere", "dangling") == 0);
    EXPECT_ERRNO(stat("dangling", &st), ENOENT);
    CHECK(lstat("dangling", &st) == 0);
    EXPECT_ERRNO(open("dangling/x", O_RDONLY), ENOENT);
    /* A link to a file used as a directory. */
    EXPECT_ERRNO(stat("abs/x", &st), ENOTDIR);
    EXPECT_ERRNO(stat("abs/", &st), ENOTDIR);

    /* Loops. */
    CHECK(symlink("self", "self") == 0);
    EXPECT_ERRNO(stat("self", &st), ELOOP);
    EXPECT_ERRNO(open("self", O_RDONLY), ELOOP);
    EXPECT_ERRNO(open("self", O_WRONLY | O_CREAT, 0644), ELOOP);
    EXPECT_ERRNO(stat("self/x", &st), ELOOP);
    CHECK(lstat("self", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(symlink("b", "a") == 0);
    CHECK(symlink("a", "b") == 0);
    EXPECT_ERRNO(stat("a", &st), ELOOP);
    EXPECT_ERRNO(chdir("b"), ELOOP);
    EXPECT_ERRNO(access("a", F_OK), ELOOP);

    /* Chains: l0 -> file, lN -> l(N-1). Following lN takes N+1 links. */
    CHECK(mkdir("chain", 0755) == 0);
    CHECK(symlink("../file", "chain/l0") == 0);
    char name[32], prev[32];
    for (int i = 1; i <= 41; i++) {
        snprintf(name, sizeof name, "chain/l%d", i);
        snprintf(prev, sizeof prev, "l%d", i - 1);
        CHECK(symlink(prev, name) == 0);
    }
    for (int i = 37; i <= 41; i++) {
        snprintf(name, sizeof name, "chain/l%d", i);
        errno = 0;
        int r = stat(name, &st);
        printf("chain of %d links: %s\n", i + 1, r == 0 ? "resolves" : errname(errno));
        errno = 0;
        fd = open(name, O_RDONLY);
        printf("chain of %d links, open: %s\n", i + 1, fd >= 0 ? "resolves" : errname(errno));
        if (fd >= 0)
            close(fd);
    }
    /* The limit counts every link in the lookup, including ones in the middle. */
    CHECK(symlink(".", "chain/dot") == 0);
    char path[512] = "chain";
    for (int i = 0; i < 40; i++)
        strcat(path, "/dot");
    printf("40 links to . in the middle: %s\n", stat(path, &st) == 0 ? "resolves" : errname(errno));
    strcat(path, "/dot");
    printf("41 links to . in the middle: %s\n", stat(path, &st) == 0 ? "resolves" : errname(errno));
    for (int i = 0; i <= 41; i++) {
        snprintf(name, sizeof name, "chain/l%d", i);
        CHECK(unlink(name) == 0);
    }
    CHECK(unlink("chain/dot") == 0);
    CHECK(rmdir("chain") == 0);

    CHECK(unlink("a") == 0);
    CHECK(unlink("b") == 0);
    CHECK(unlink("self") == 0);
    CHECK(unlink("dangling") == 0);
    CHECK(unlink("dlink") == 0);
    CHECK(unlink("abs") == 0);
    CHECK(unlink("dir/up") == 0);
    CHECK(rmdir("dir") == 0);
    CHECK(unlink("file") == 0);
    leave_scratch();
    return finish();
}
