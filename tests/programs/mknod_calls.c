/* mknod/mknodat: every node type with its mode under umask, device numbers, type 0 as
 * a regular file, invalid types, EEXIST/ENOENT/ENOTDIR/ENAMETOOLONG, trailing slashes,
 * dirfd and AT_FDCWD, and a made 1:3 character device behaving as /dev/null. Run as
 * root, in a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void show(const char *p) {
    struct stat st;
    if (lstat(p, &st) != 0) {
        printf("%s: lstat %s\n", p, errname(errno));
        return;
    }
    const char *t = S_ISREG(st.st_mode)    ? "reg"
                    : S_ISDIR(st.st_mode)  ? "dir"
                    : S_ISFIFO(st.st_mode) ? "fifo"
                    : S_ISSOCK(st.st_mode) ? "sock"
                    : S_ISCHR(st.st_mode)  ? "chr"
                    : S_ISBLK(st.st_mode)  ? "blk"
                    : S_ISLNK(st.st_mode)  ? "lnk"
                                           : "?";
    printf("%s: %s mode %04o size %lld nlink %ld", p, t, st.st_mode & 07777, (long long)st.st_size,
           (long)st.st_nlink);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev %u:%u", major(st.st_rdev), minor(st.st_rdev));
    else
        printf(" rdev %s", st.st_rdev == 0 ? "0" : "nonzero");
    printf("\n");
}

int main(void) {
    char dir[] = "/tmp/mkn-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    umask(022);

    /* Every type, under umask 022. */
    CHECK(mknod("reg", S_IFREG | 0666, 0) == 0);
    show("reg");
    CHECK(mknod("zero-type", 0644, 0) == 0);
    show("zero-type");
    CHECK(mknod("fifo", S_IFIFO | 0666, 0) == 0);
    show("fifo");
    CHECK(mknod("sock", S_IFSOCK | 0777, 0) == 0);
    show("sock");
    CHECK(mknod("null", S_IFCHR | 0666, makedev(1, 3)) == 0);
    show("null");
    CHECK(mknod("blk", S_IFBLK | 0600, makedev(7, 200)) == 0);
    show("blk");
    CHECK(mknod("bigdev", S_IFCHR | 0600, makedev(300, 70000)) == 0);
    show("bigdev");
    /* The device number of a regular file or fifo is ignored. */
    CHECK(mknod("reg-dev", S_IFREG | 0644, makedev(1, 3)) == 0);
    show("reg-dev");
    CHECK(mknod("fifo-dev", S_IFIFO | 0644, makedev(1, 3)) == 0);
    show("fifo-dev");
    /* Special permission bits are kept. */
    CHECK(mknod("suid", S_IFREG | 04755, 0) == 0);
    show("suid");
    CHECK(mknod("sticky", S_IFIFO | 01777, 0) == 0);
    show("sticky");

    /* Other umasks. */
    umask(077);
    CHECK(mknod("reg077", S_IFREG | 0666, 0) == 0);
    show("reg077");
    CHECK(mknod("fifo077", S_IFIFO | 0666, 0) == 0);
    show("fifo077");
    umask(0);
    CHECK(mknod("reg000", S_IFREG | 0666, 0) == 0);
    show("reg000");
    umask(022);

    /* Errors. */
    EXPECT_ERRNO(mknod("bad", 0170000 | 0644, 0), EINVAL);
    EXPECT_ERRNO(mknod("bad", S_IFDIR | 0755, 0), EPERM);
    EXPECT_ERRNO(mknod("bad", S_IFLNK | 0777, 0), EINVAL);
    EXPECT_ERRNO(mknod("reg", S_IFDIR | 0755, 0), EPERM);
    EXPECT_ERRNO(mknod("bad", 0030000 | 0644, 0), EINVAL);
    EXPECT_ERRNO(mknod("reg", S_IFREG | 0644, 0), EEXIST);
    EXPECT_ERRNO(mknod("fifo", S_IFCHR | 0644, makedev(1, 3)), EEXIST);
    EXPECT_ERRNO(mknod("missing/x", S_IFREG | 0644, 0), ENOENT);
    EXPECT_ERRNO(mknod("reg/x", S_IFREG | 0644, 0), ENOTDIR);
    EXPECT_ERRNO(mknod("", S_IFREG | 0644, 0), ENOENT);
    /* A trailing slash on the new name. */
    EXPECT_ERRNO(mknod("slash/", S_IFREG | 0644, 0), ENOENT);
    EXPECT_ERRNO(mknod("slashfifo/", S_IFIFO | 0644, 0), ENOENT);
    EXPECT_ERRNO(mknod("slashchr/", S_IFCHR | 0644, makedev(1, 3)), ENOENT);
    EXPECT_ERRNO(mknod("reg/", S_IFREG | 0644, 0), EEXIST);
    show("slash");
    /* An existing dangling symlink is not followed. */
    CHECK(symlink("target", "dangling") == 0);
    EXPECT_ERRNO(mknod("dangling", S_IFREG | 0644, 0), EEXIST);
    show("target");
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    EXPECT_ERRNO(mknod(longname, S_IFREG | 0644, 0), ENAMETOOLONG);
    longname[255] = 0;
    CHECK(mknod(longname, S_IFREG | 0644, 0) == 0);
    CHECK(unlink(longname) == 0);

    /* mknodat with a directory fd and with AT_FDCWD. */
    CHECK(mkdir("sub", 0755) == 0);
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(mknodat(dfd, "at-reg", S_IFREG | 0640, 0) == 0);
    show("sub/at-reg");
    CHECK(mknodat(dfd, "at-fifo", S_IFIFO | 0640, 0) == 0);
    show("sub/at-fifo");
    CHECK(mknodat(AT_FDCWD, "cwd-sock", S_IFSOCK | 0640, 0) == 0);
    show("cwd-sock");
    EXPECT_ERRNO(mknodat(dfd, "at-reg", S_IFREG | 0640, 0), EEXIST);
    int ffd = open("reg", O_RDONLY);
    EXPECT_ERRNO(mknodat(ffd, "x", S_IFREG | 0640, 0), ENOTDIR);
    close(ffd);
    EXPECT_ERRNO(mknodat(999, "x", S_IFREG | 0640, 0), EBADF);
    /* An absolute path ignores the dirfd. */
    char abs[64];
    snprintf(abs, sizeof abs, "%s/abs-reg", dir);
    CHECK(mknodat(999, abs, S_IFREG | 0600, 0) == 0);
    show("abs-reg");
    /* An O_PATH dirfd works. */
    int pfd = open("sub", O_PATH | O_DIRECTORY);
    CHECK(mknodat(pfd, "path-reg", S_IFREG | 0600, 0) == 0);
    show("sub/path-reg");
    close(pfd);

    /* The new regular file is empty and usable; the new fifo is a fifo. */
    int fd = open("reg", O_RDWR);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
    close(fd);
    show("reg");
    fd = open("fifo", O_RDWR | O_NONBLOCK);
    CHECK(fd >= 0 && write(fd, "xy", 2) == 2);
    char buf[8];
    CHECK(read(fd, buf, sizeof buf) == 2);
    close(fd);

    /* The 1:3 character device behaves as /dev/null. */
    fd = open("null", O_RDWR);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello", 5) == 5);
    CHECK(read(fd, buf, sizeof buf) == 0);
    close(fd);
    show("null");
    /* A device that does not exist. */
    EXPECT_ERRNO(open("bigdev", O_RDONLY), ENXIO);

    const char *rm[] = {"reg", "zero-type", "fifo", "sock", "null", "blk", "bigdev", "reg-dev",
                        "fifo-dev", "suid", "sticky", "reg077", "fifo077", "reg000", "dangling",
                        "sub/at-reg", "sub/at-fifo", "cwd-sock", "abs-reg", "sub/path-reg"};
    for (unsigned i = 0; i < sizeof rm / sizeof *rm; i++)
        if (unlink(rm[i]) != 0)
            printf("unlink %s: %s\n", rm[i], errname(errno));
    close(dfd);
    CHECK(rmdir("sub") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
