/* mkdir/rmdir/getdents64: modes under umask, nlink of directories, EEXIST/ENOENT/
 * ENOTEMPTY/ENOTDIR/EINVAL cases, sorted listings with d_type, small getdents buffers,
 * entries removed while listing. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[64];
    int n = 0;
    while ((e = readdir(d)) && n < 64) {
        char *s = malloc(300);
        snprintf(s, 300, "%s:%d", e->d_name, e->d_type);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", dir);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void) {
    char dir[] = "/tmp/dirs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    umask(022);
    CHECK(mkdir("a", 0777) == 0);
    struct stat st;
    CHECK(stat("a", &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_nlink == 2);
    CHECK(mkdir("a/b", 0700) == 0 && mkdir("a/c", 0700) == 0);
    CHECK(stat("a", &st) == 0 && st.st_nlink == 4);
    EXPECT_ERRNO(mkdir("a", 0755), EEXIST);
    EXPECT_ERRNO(mkdir("nope/x", 0755), ENOENT);
    int fd = open("a/f", O_CREAT | O_WRONLY, 0644);
    close(fd);
    EXPECT_ERRNO(mkdir("a/f/x", 0755), ENOTDIR);
    CHECK(symlink("b", "a/l") == 0 && mknod("a/p", S_IFIFO | 0600, 0) == 0);
    list("a");
    EXPECT_ERRNO(rmdir("a"), ENOTEMPTY);
    EXPECT_ERRNO(rmdir("a/f"), ENOTDIR);
    EXPECT_ERRNO(rmdir("a/."), EINVAL);
    EXPECT_ERRNO(rmdir("a/.."), ENOTEMPTY);
    EXPECT_ERRNO(rmdir("a/l"), ENOTDIR);
    CHECK(rmdir("a/c") == 0 && stat("a", &st) == 0 && st.st_nlink == 3);
    /* Raw getdents64 with a buffer too small for one entry, then a small one. */
    int d = open("a", O_RDONLY | O_DIRECTORY);
    char buf[64];
    EXPECT_ERRNO(syscall(SYS_getdents64, d, buf, 10), EINVAL);
    long total = 0, calls = 0, n;
    while ((n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0) {
        total += n;
        calls++;
    }
    printf("small-buffer calls > 1: %s, bytes > 0: %s\n", calls > 1 ? "yes" : "no", total > 0 ? "yes" : "no");
    CHECK(lseek(d, 0, SEEK_SET) == 0);
    CHECK(syscall(SYS_getdents64, d, buf, sizeof buf) > 0);
    EXPECT_ERRNO(syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF);
    int f = open("a/f", O_RDONLY);
    EXPECT_ERRNO(syscall(SYS_getdents64, f, buf, sizeof buf), ENOTDIR);
    close(f);
    close(d);
    /* Removing entries while listing never crashes and lists each at most once. */
    for (int i = 0; i < 20; i++) {
        char p[32];
        snprintf(p, sizeof p, "a/n%02d", i);
        close(open(p, O_CREAT | O_WRONLY, 0644));
    }
    DIR *dd = opendir("a");
    struct dirent *e;
    int seen = 0;
    while ((e = readdir(dd))) {
        if (!strncmp(e->d_name, "n", 1)) {
            char p[300];
            snprintf(p, sizeof p, "a/%s", e->d_name);
            unlink(p);
            seen++;
        }
    }
    closedir(dd);
    printf("removed while listing: %s\n", seen >= 1 && seen <= 20 ? "ok" : "bad");
    unlink("a/f");
    unlink("a/l");
    unlink("a/p");
    for (int i = 0; i < 20; i++) {
        char p[32];
        snprintf(p, sizeof p, "a/n%02d", i);
        unlink(p);
    }
    CHECK(rmdir("a/b") == 0 && rmdir("a") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
