/* Path walk errors and rules: ENAMETOOLONG (whole path >= PATH_MAX, one
 * component > NAME_MAX), ENOENT for "", ENOTDIR through a file, EFAULT for a
 * bad pointer, "." and ".." handling, ".." at "/" staying at "/", repeated
 * slashes. */
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

static int same(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(void) {
    enter_scratch();
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(mkdir("dir", 0755) == 0);
    CHECK(mkdir("dir/sub", 0755) == 0);
    struct stat st;

    /* Component length: 255 is fine (ENOENT), 256 is ENAMETOOLONG. */
    char name[300];
    memset(name, 'n', 255);
    name[255] = 0;
    EXPECT_ERRNO(stat(name, &st), ENOENT);
    fd = open(name, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(close(fd) == 0);
    CHECK(stat(name, &st) == 0);
    CHECK(unlink(name) == 0);
    memset(name, 'n', 256);
    name[256] = 0;
    EXPECT_ERRNO(stat(name, &st), ENAMETOOLONG);
    EXPECT_ERRNO(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
    EXPECT_ERRNO(mkdir(name, 0755), ENAMETOOLONG);
    /* A long component in the middle of a path, and behind a missing directory. */
    char mid[600];
    snprintf(mid, sizeof mid, "dir/%s/x", name);
    EXPECT_ERRNO(stat(mid, &st), ENAMETOOLONG);
    snprintf(mid, sizeof mid, "missing/%s", name);
    EXPECT_ERRNO(stat(mid, &st), ENOENT);

    /* Whole path length: 4095 bytes + NUL is walked, 4096 is ENAMETOOLONG. */
    static char longp[PATH_MAX + 10];
    size_t len = 0;
    while (len + 2 < PATH_MAX - 1) {
        longp[len++] = '.';
        longp[len++] = '/';
    }
    while (len < PATH_MAX - 1)
        longp[len++] = '/';
    longp[len] = 0;
    printf("path of %zu bytes: stat %s\n", strlen(longp), stat(longp, &st) == 0 ? "ok" : errname(errno));
    longp[len++] = '/';
    longp[len] = 0;
    printf("path of %zu bytes:\n", strlen(longp));
    EXPECT_ERRNO(stat(longp, &st), ENAMETOOLONG);
    EXPECT_ERRNO(open(longp, O_RDONLY), ENAMETOOLONG);
    EXPECT_ERRNO(chdir(longp), ENAMETOOLONG);

    /* Empty path. */
    EXPECT_ERRNO(stat("", &st), ENOENT);
    EXPECT_ERRNO(open("", O_RDONLY), ENOENT);
    EXPECT_ERRNO(mkdir("", 0755), ENOENT);
    EXPECT_ERRNO(unlink(""), ENOENT);
    EXPECT_ERRNO(chdir(""), ENOENT);
    EXPECT_ERRNO(symlink("x", ""), ENOENT);
    EXPECT_ERRNO(access("", F_OK), ENOENT);

    /* A file used as a directory. */
    EXPECT_ERRNO(stat("file/x", &st), ENOTDIR);
    EXPECT_ERRNO(stat("file/", &st), ENOTDIR);
    EXPECT_ERRNO(stat("file/.", &st), ENOTDIR);
    EXPECT_ERRNO(stat("file/..", &st), ENOTDIR);
    EXPECT_ERRNO(open("file/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
    EXPECT_ERRNO(mkdir("file/x", 0755), ENOTDIR);
    EXPECT_ERRNO(chdir("file"), ENOTDIR);
    /* ENOENT wins over ENOTDIR when the missing name comes first. */
    EXPECT_ERRNO(stat("missing/file/x", &st), ENOENT);

    /* Bad pointers. */
    EXPECT_ERRNO(syscall(SYS_stat, (char *)8, &st), EFAULT);
    EXPECT_ERRNO(syscall(SYS_openat, AT_FDCWD, (char *)8, O_RDONLY), EFAULT);
    EXPECT_ERRNO(syscall(SYS_mkdir, (char *)8, 0755), EFAULT);
    EXPECT_ERRNO(syscall(SYS_stat, "file", (struct stat *)8), EFAULT);
    EXPECT_ERRNO(syscall(SYS_chdir, (char *)-1L), EFAULT);

    /* "." and ".." and repeated slashes. */
    printf("dir/sub/.. is dir: %s\n", same("dir/sub/..", "dir") ? "yes" : "no");
    printf("dir/./sub/. is dir/sub: %s\n", same("dir/./sub/.", "dir/sub") ? "yes" : "no");
    printf("dir//sub/// is dir/sub: %s\n", same("dir//sub///", "dir/sub") ? "yes" : "no");
    printf("./file is file: %s\n", same("./file", "file") ? "yes" : "no");
    printf("dir/../file is file: %s\n", same("dir/../file", "file") ? "yes" : "no");
    printf("/.. is /: %s\n", same("/..", "/") ? "yes" : "no");
    printf("/../../.. is /: %s\n", same("/../../..", "/") ? "yes" : "no");
    printf("//// is /: %s\n", same("////", "/") ? "yes" : "no");
    printf("/./. is /: %s\n", same("/./.", "/") ? "yes" : "no");
    printf("/../tmp is /tmp: %s\n", same("/../tmp", "/tmp") ? "yes" : "no");
    /* ".." of a missing directory is not looked at lexically. */
    EXPECT_ERRNO(stat("missing/..", &st), ENOENT);
    EXPECT_ERRNO(stat("file/../dir", &st), ENOTDIR);

    /* Absolute paths built from getcwd reach the same files. */
    char cwd[PATH_MAX], abs[PATH_MAX + 16];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(abs, sizeof abs, "%s/dir/sub", cwd);
    printf("absolute path is dir/sub: %s\n", same(abs, "dir/sub") ? "yes" : "no");
    snprintf(abs, sizeof abs, "%s/dir/../../", cwd);
    CHECK(chdir("dir") == 0);
    printf("cwd/dir/../.. is ..: %s\n", same(abs, "../..") ? "yes" : "no");
    CHECK(chdir("..") == 0);

    CHECK(rmdir("dir/sub") == 0);
    CHECK(rmdir("dir") == 0);
    CHECK(unlink("file") == 0);
    leave_scratch();
    return finish();
}
