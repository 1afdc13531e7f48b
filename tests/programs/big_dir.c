/* A directory of 600 entries with long names: listed through getdents64 with several
 * buffer sizes, each name seen exactly once, in agreement with readdir; then emptied.
 * Prints counts and an order-independent checksum of the names. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <sys/stat.h>

/* A check that prints only when it fails (for loops). */
#define CHECK_QUIET(c)                                                         \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("FAIL %s (line %d)\n", #c, __LINE__);                       \
            failures++;                                                        \
        }                                                                      \
    } while (0)
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>

enum { N = 600 };

static unsigned long hash(const char *s) {
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

int main(void) {
    char dir[] = "/tmp/bd-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    for (int i = 0; i < N; i++) {
        char p[300];
        snprintf(p, sizeof p, "entry-%04d-%0*d", i, 200, i);
        int fd = open(p, O_CREAT | O_WRONLY, 0644);
        CHECK_QUIET(fd >= 0);
        close(fd);
    }
    int sizes[] = {280, 1024, 32768};
    for (int k = 0; k < 3; k++) {
        int d = open(".", O_RDONLY | O_DIRECTORY);
        static char buf[32768];
        long n, count = 0;
        unsigned long sum = 0;
        while ((n = syscall(SYS_getdents64, d, buf, sizes[k])) > 0) {
            for (long off = 0; off < n;) {
                struct dirent64 *e = (struct dirent64 *)(buf + off);
                if (e->d_name[0] != '.') {
                    count++;
                    sum += hash(e->d_name);
                }
                off += e->d_reclen;
            }
        }
        close(d);
        printf("buffer %d: %ld entries, checksum %lx\n", sizes[k], count, sum);
    }
    for (int i = 0; i < N; i++) {
        char p[300];
        snprintf(p, sizeof p, "entry-%04d-%0*d", i, 200, i);
        CHECK_QUIET(unlink(p) == 0);
    }
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
