/* getcwd/chdir/fchdir/chroot: buffer sizes, errors, relative paths after a chdir,
 * a removed cwd, a renamed ancestor, symlinks in the chdir path, fchdir on O_PATH
 * fds, and last a chroot into the scratch dir (left again through a directory fd to
 * clean up). Run as root, in a scratch dir; paths are printed relative to it. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

static char scratch[64];

/* The raw getcwd result: its length, and the path relative to the scratch dir. */
static void show_cwd(const char *label) {
    char buf[4096];
    long r = syscall(SYS_getcwd, buf, sizeof buf);
    if (r < 0) {
        printf("%s: getcwd %s\n", label, errname(errno));
        return;
    }
    const char *p = buf, *prefix = "";
    if (!strncmp(p, "(unreachable)", 13)) {
        p += 13;
        prefix = "(unreachable)";
    }
    size_t n = strlen(scratch);
    if (!strncmp(p, scratch, n) && (p[n] == '/' || p[n] == 0))
        printf("%s: %s<scratch>%s (len ok %d)\n", label, prefix, p + n, r == (long)strlen(buf) + 1);
    else
        printf("%s: %s%s (len ok %d)\n", label, prefix, p, r == (long)strlen(buf) + 1);
}

int main(void) {
    char start[4096];
    CHECK(getcwd(start, sizeof start) != NULL);
    strcpy(scratch, "/tmp/cwd-XXXXXX");
    CHECK(mkdtemp(scratch) != NULL);
    umask(022);
    CHECK(chdir(scratch) == 0);
    show_cwd("scratch");

    /* Buffer sizes. */
    size_t len = strlen(scratch) + 1;
    char buf[4096];
    CHECK(syscall(SYS_getcwd, buf, len) == (long)len && strcmp(buf, scratch) == 0);
    EXPECT_ERRNO(syscall(SYS_getcwd, buf, len - 1), ERANGE);
    EXPECT_ERRNO(syscall(SYS_getcwd, buf, 0), ERANGE);
    EXPECT_ERRNO(syscall(SYS_getcwd, buf, 1), ERANGE);
    EXPECT_ERRNO(syscall(SYS_getcwd, (void *)8, sizeof buf), EFAULT);
    EXPECT_ERRNO(syscall(SYS_getcwd, NULL, sizeof buf), EFAULT);
    errno = 0;
    CHECK(getcwd(buf, len - 1) == NULL && errno == ERANGE);
    errno = 0;
    CHECK(getcwd(buf, 0) == NULL && errno == EINVAL);
    CHECK(getcwd(buf, len) == buf && strcmp(buf, scratch) == 0);
    char *dyn = getcwd(NULL, 0);
    CHECK(dyn != NULL && strcmp(dyn, scratch) == 0);
    free(dyn);

    /* chdir into a subdirectory and back; relative paths follow the cwd. */
    CHECK(mkdir("a", 0755) == 0 && mkdir("a/b", 0755) == 0);
    close(open("a/b/file", O_CREAT | O_WRONLY, 0644));
    CHECK(chdir("a/b") == 0);
    show_cwd("a/b");
    CHECK(access("file", F_OK) == 0);
    CHECK(access("../b/file", F_OK) == 0);
    CHECK(chdir("..") == 0);
    show_cwd("..");
    CHECK(chdir("./b/../b/.") == 0);
    show_cwd("./b/../b/.");
    CHECK(chdir("../..") == 0);
    show_cwd("../..");
    CHECK(chdir(scratch) == 0);

    /* chdir errors. */
    EXPECT_ERRNO(chdir("a/b/file"), ENOTDIR);
    EXPECT_ERRNO(chdir("a/b/file/"), ENOTDIR);
    EXPECT_ERRNO(chdir("missing"), ENOENT);
    EXPECT_ERRNO(chdir("missing/x"), ENOENT);
    EXPECT_ERRNO(chdir(""), ENOENT);
    EXPECT_ERRNO(chdir((const char *)8), EFAULT);
    show_cwd("after errors");

    /* fchdir. */
    int dfd = open("a", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0 && fchdir(dfd) == 0);
    show_cwd("fchdir a");
    CHECK(chdir(scratch) == 0);
    int pfd = open("a/b", O_PATH | O_DIRECTORY);
    CHECK(pfd >= 0 && fchdir(pfd) == 0);
    show_cwd("fchdir O_PATH a/b");
    CHECK(access("file", F_OK) == 0);
    CHECK(chdir(scratch) == 0);
    int ffd = open("a/b/file", O_RDONLY);
    EXPECT_ERRNO(fchdir(ffd), ENOTDIR);
    close(ffd);
    ffd = open("a/b/file", O_PATH);
    EXPECT_ERRNO(fchdir(ffd), ENOTDIR);
    close(ffd);
    EXPECT_ERRNO(fchdir(999), EBADF);
    EXPECT_ERRNO(fchdir(-1), EBADF);
    close(dfd);
    close(pfd);
    show_cwd("after fchdir errors");

    /* A symlink in the chdir path: getcwd shows where it leads. */
    CHECK(symlink("a/b", "lnk") == 0);
    CHECK(symlink("lnk", "lnk2") == 0);
    CHECK(chdir("lnk") == 0);
    show_cwd("chdir lnk");
    CHECK(chdir(scratch) == 0);
    CHECK(chdir("lnk2/..") == 0);
    show_cwd("chdir lnk2/..");
    CHECK(chdir(scratch) == 0);
    CHECK(symlink("a/b/file", "flnk") == 0);
    EXPECT_ERRNO(chdir("flnk"), ENOTDIR);
    CHECK(symlink("nowhere", "dangling") == 0);
    EXPECT_ERRNO(chdir("dangling"), ENOENT);

    /* Renaming an ancestor of the cwd changes what getcwd returns. */
    CHECK(chdir("a/b") == 0);
    char path[256];
    snprintf(path, sizeof path, "%s/a", scratch);
    char path2[256];
    snprintf(path2, sizeof path2, "%s/renamed", scratch);
    CHECK(rename(path, path2) == 0);
    show_cwd("after rename of a");
    CHECK(access("file", F_OK) == 0);
    CHECK(chdir("..") == 0);
    show_cwd("renamed/b/..");
    CHECK(chdir(scratch) == 0);

    /* A removed cwd: getcwd fails with ENOENT; relative creation fails; ".." works. */
    CHECK(mkdir("doomed", 0755) == 0 && chdir("doomed") == 0);
    snprintf(path, sizeof path, "%s/doomed", scratch);
    CHECK(rmdir(path) == 0);
    EXPECT_ERRNO(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
    errno = 0;
    char *g = getcwd(buf, sizeof buf);
    printf("glibc getcwd of a removed dir: %s %s\n", g ? "ok" : "NULL", errname(errno));
    EXPECT_ERRNO(open("new", O_CREAT | O_WRONLY, 0644), ENOENT);
    EXPECT_ERRNO(mkdir("newdir", 0755), ENOENT);
    struct stat st;
    CHECK(stat(".", &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 0);
    CHECK(chdir("..") == 0);
    show_cwd("up from removed");

    /* Clean up all but the scratch dir itself. */
    const char *rm[] = {"renamed/b/file", "lnk", "lnk2", "flnk", "dangling"};
    for (unsigned i = 0; i < sizeof rm / sizeof *rm; i++)
        CHECK(unlink(rm[i]) == 0);
    CHECK(rmdir("renamed/b") == 0 && rmdir("renamed") == 0);

    /* Last: chroot into a jail in the scratch dir. */
    CHECK(mkdir("jail", 0755) == 0 && mkdir("jail/in", 0755) == 0);
    int sfd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(sfd >= 0);
    CHECK(chdir("jail") == 0);
    CHECK(chroot(".") == 0);
    show_cwd("chroot cwd");
    CHECK(chdir("..") == 0);
    show_cwd("chroot ..");
    CHECK(chdir("/..") == 0);
    show_cwd("chroot /..");
    CHECK(chdir("in") == 0);
    show_cwd("chroot in");
    CHECK(chdir("../../..") == 0);
    show_cwd("chroot in/../../..");
    CHECK(access("/in", F_OK) == 0);
    EXPECT_ERRNO(access("/jail", F_OK), ENOENT);
    CHECK(symlink("/..", "up") == 0 && chdir("up") == 0);
    show_cwd("chroot symlink /..");
    CHECK(unlink("/up") == 0);
    EXPECT_ERRNO(chroot("missing"), ENOENT);
    close(open("f", O_CREAT | O_WRONLY, 0644));
    EXPECT_ERRNO(chroot("f"), ENOTDIR);
    CHECK(unlink("f") == 0);
    CHECK(chroot("in") == 0);
    show_cwd("cwd outside the new root");
    CHECK(chdir("/") == 0);
    show_cwd("chroot in: /");
    /* Leave through the directory fd opened before: the cwd is outside the root. */
    CHECK(fchdir(sfd) == 0);
    show_cwd("fchdir outside the root");
    CHECK(rmdir("jail/in") == 0 && rmdir("jail") == 0);
    CHECK(chdir("..") == 0);
    CHECK(rmdir(strrchr(scratch, '/') + 1) == 0);
    close(sfd);
    return finish();
}
