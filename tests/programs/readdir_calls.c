/* getdents64 and readdir details: "." and "..", d_type of every file type, d_ino
 * against lstat, EINVAL/ENOTDIR/EBADF/EFAULT cases, small buffers over several calls,
 * rewinding with lseek, telldir/seekdir, entries added or removed while the directory
 * is open, empty and removed directories. In a scratch dir; names are sorted before
 * printing since the order differs between filesystems. */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

#define MAXN 64

/* Reads the whole directory with getdents64 using a buffer of `bufsize` bytes; stores
 * "name:type" strings in names (sorted) and returns how many, and the number of calls
 * that returned data in *calls. */
static int read_all(int fd, size_t bufsize, char **names, int *calls) {
    char *buf = malloc(bufsize);
    int n = 0;
    long r;
    *calls = 0;
    while ((r = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
        (*calls)++;
        for (long off = 0; off < r;) {
            struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
            if (n < MAXN) {
                names[n] = malloc(300);
                snprintf(names[n], 300, "%s:%d", e->d_name, e->d_type);
                n++;
            }
            off += e->d_reclen;
        }
    }
    if (r < 0)
        printf("getdents64 error %s\n", errname(errno));
    free(buf);
    qsort(names, n, sizeof *names, cmp);
    return n;
}

static void print_names(const char *label, char **names, int n) {
    printf("%s:", label);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static int has_dup(char **names, int n) {
    for (int i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i]))
            return 1;
    return 0;
}

/* Lists a directory with opendir/readdir, sorted. */
static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        printf("%s: opendir %s\n", dir, errname(errno));
        return;
    }
    char *names[MAXN];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAXN)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    print_names(dir, names, n);
}

static void touch(const char *p) { close(open(p, O_CREAT | O_WRONLY, 0644)); }

int main(void) {
    char dir[] = "/tmp/rdc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    umask(022);
    CHECK(mkdir("d", 0755) == 0);
    touch("d/reg");
    CHECK(mkdir("d/sub", 0755) == 0);
    CHECK(symlink("reg", "d/lnk") == 0);
    CHECK(mkfifo("d/fifo", 0644) == 0);
    CHECK(mknod("d/null", S_IFCHR | 0644, makedev(1, 3)) == 0);
    CHECK(mknod("d/sock", S_IFSOCK | 0644, 0) == 0);
    printf("DT values: REG=%d DIR=%d LNK=%d FIFO=%d CHR=%d SOCK=%d\n", DT_REG, DT_DIR, DT_LNK, DT_FIFO,
           DT_CHR, DT_SOCK);

    /* One big read: every name with its type, "." and ".." included. */
    int fd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    char *names[MAXN];
    int calls;
    int n = read_all(fd, 4096, names, &calls);
    printf("big buffer: %d entries, calls %d, dup %d\n", n, calls, has_dup(names, n));
    print_names("d", names, n);

    /* d_ino equals lstat's st_ino for every entry but "..". */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char buf[4096];
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    int ino_ok = 0, ino_bad = 0;
    for (long off = 0; off < r;) {
        struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
        char p[300];
        struct stat st;
        snprintf(p, sizeof p, "d/%s", e->d_name);
        if (strcmp(e->d_name, "..")) {
            if (lstat(p, &st) == 0 && st.st_ino == e->d_ino)
                ino_ok++;
            else
                ino_bad++;
        }
        if (e->d_reclen % 8 != 0 || e->d_reclen < offsetof(struct linux_dirent64, d_name) + strlen(e->d_name) + 1)
            printf("bad reclen for %s\n", e->d_name);
        off += e->d_reclen;
    }
    printf("d_ino matches lstat: %d, mismatches: %d\n", ino_ok, ino_bad);
    /* At the end, getdents64 returns 0 again and again. */
    CHECK(syscall(SYS_getdents64, fd, buf, sizeof buf) == 0);
    CHECK(syscall(SYS_getdents64, fd, buf, sizeof buf) == 0);

    /* Error cases. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, 10), EINVAL);
    EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_getdents64, fd, (void *)8, 4096), EFAULT);
    /* The failed calls consumed nothing. */
    n = read_all(fd, 4096, names, &calls);
    printf("after errors: %d entries\n", n);
    for (int i = 0; i < n; i++)
        free(names[i]);
    int f = open("d/reg", O_RDONLY);
    EXPECT_ERRNO(syscall(SYS_getdents64, f, buf, sizeof buf), ENOTDIR);
    close(f);
    EXPECT_ERRNO(syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF);
    EXPECT_ERRNO(syscall(SYS_getdents64, -1, buf, sizeof buf), EBADF);
    int pfd = open("d", O_PATH | O_DIRECTORY);
    CHECK(pfd >= 0);
    EXPECT_ERRNO(syscall(SYS_getdents64, pfd, buf, sizeof buf), EBADF);
    close(pfd);

    /* A small buffer: several calls, each name exactly once. */
    for (int i = 0; i < 12; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/file-with-a-longish-name-%02d", i);
        touch(p);
    }
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    n = read_all(fd, 64, names, &calls);
    printf("small buffer: %d entries, several calls %s, dup %d\n", n, calls > 5 ? "yes" : "no",
           has_dup(names, n));
    for (int i = 0; i < n; i++)
        free(names[i]);

    /* Rewind, create, read again: the new entry shows up. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    touch("d/new-after-rewind");
    n = read_all(fd, 4096, names, &calls);
    int found = 0;
    for (int i = 0; i < n; i++)
        if (!strncmp(names[i], "new-after-rewind:", 17))
            found++;
    printf("after rewind: %d entries, new entry seen %d\n", n, found);
    for (int i = 0; i < n; i++)
        free(names[i]);

    /* Remove an entry while open; after a rewind it is gone. */
    CHECK(unlink("d/new-after-rewind") == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    n = read_all(fd, 4096, names, &calls);
    found = 0;
    for (int i = 0; i < n; i++)
        if (!strncmp(names[i], "new-after-rewind:", 17))
            found++;
    printf("after unlink and rewind: %d entries, removed entry seen %d\n", n, found);
    for (int i = 0; i < n; i++)
        free(names[i]);
    close(fd);

    /* telldir/seekdir: going back to a saved position gives the same next name. */
    DIR *dd = opendir("d");
    CHECK(dd != NULL);
    struct dirent *e;
    for (int i = 0; i < 3; i++)
        e = readdir(dd);
    long pos = telldir(dd);
    e = readdir(dd);
    char first[256] = "", again[256] = "";
    if (e)
        snprintf(first, sizeof first, "%s", e->d_name);
    for (int i = 0; i < 4; i++)
        readdir(dd);
    seekdir(dd, pos);
    e = readdir(dd);
    if (e)
        snprintf(again, sizeof again, "%s", e->d_name);
    CHECK(first[0] != 0 && strcmp(first, again) == 0);
    rewinddir(dd);
    int count = 0;
    while (readdir(dd))
        count++;
    printf("after rewinddir: %d entries\n", count);
    closedir(dd);

    /* An empty directory lists only "." and "..". */
    CHECK(mkdir("empty", 0755) == 0);
    list("empty");

    /* A directory removed while open lists nothing at all: getdents64 fails with ENOENT. */
    CHECK(mkdir("gone", 0755) == 0);
    int gfd = open("gone", O_RDONLY | O_DIRECTORY);
    CHECK(rmdir("gone") == 0);
    n = read_all(gfd, 4096, names, &calls);
    print_names("removed dir", names, n);
    CHECK(lseek(gfd, 0, SEEK_SET) == 0);
    EXPECT_ERRNO(syscall(SYS_getdents64, gfd, buf, sizeof buf), ENOENT);
    close(gfd);
    /* Also when it was already partly read. */
    CHECK(mkdir("gone2", 0755) == 0);
    gfd = open("gone2", O_RDONLY | O_DIRECTORY);
    r = syscall(SYS_getdents64, gfd, buf, 32);
    CHECK(r > 0);
    CHECK(rmdir("gone2") == 0);
    EXPECT_ERRNO(syscall(SYS_getdents64, gfd, buf, sizeof buf), ENOENT);
    close(gfd);

    /* Clean up. */
    const char *rm[] = {"d/reg", "d/lnk", "d/fifo", "d/null", "d/sock"};
    for (int i = 0; i < 5; i++)
        CHECK(unlink(rm[i]) == 0);
    for (int i = 0; i < 12; i++) {
        char p[64];
        snprintf(p, sizeof p, "d/file-with-a-longish-name-%02d", i);
        unlink(p);
    }
    CHECK(rmdir("d/sub") == 0 && rmdir("d") == 0 && rmdir("empty") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
