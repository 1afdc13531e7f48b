/* O_TMPFILE: an unnamed file in a directory, readable and writable, invisible in the
 * directory, linkable with linkat(AT_EMPTY_PATH) or through /proc/self/fd unless made
 * with O_EXCL; the flag combinations Linux refuses. Runs in a scratch dir on /tmp. */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static int entries(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n++;
    closedir(d);
    return n;
}

int main(void) {
    char dir[] = "/tmp/tf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open(".", O_TMPFILE | O_RDWR, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "unnamed", 7) == 7);
    char buf[8] = {0};
    CHECK(pread(fd, buf, 7, 0) == 7 && !strcmp(buf, "unnamed"));
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && (st.st_mode & 0777) == 0640 && S_ISREG(st.st_mode));
    CHECK(entries(".") == 2);
    CHECK(linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH) == 0);
    CHECK(stat("named", &st) == 0 && st.st_nlink == 1 && st.st_size == 7);
    CHECK(entries(".") == 3);
    int ex = open(".", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
    CHECK(ex >= 0);
    EXPECT_ERRNO(linkat(ex, "", AT_FDCWD, "never", AT_EMPTY_PATH), ENOENT);
    int viaproc = open(".", O_TMPFILE | O_WRONLY, 0600);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", viaproc);
    CHECK(linkat(AT_FDCWD, p, AT_FDCWD, "viaproc", AT_SYMLINK_FOLLOW) == 0 && access("viaproc", F_OK) == 0);
    EXPECT_ERRNO(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
    EXPECT_ERRNO(open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    EXPECT_ERRNO(open("missing", O_TMPFILE | O_RDWR, 0600), ENOENT);
    close(fd);
    close(ex);
    close(viaproc);
    unlink("named");
    unlink("viaproc");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
