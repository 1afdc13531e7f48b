/* Private file mappings: contents match the file, offsets, copy-on-write privacy (the
 * file never changes), MADV_DONTNEED re-reads the file, mprotect, mremap of a file
 * mapping, errors for bad descriptors and access modes. Works in a scratch dir. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

int main(void) {
    char dir[] = "/tmp/fm-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    enum { N = 3 * 4096 + 100 };
    static char buf[N];
    for (int i = 0; i < N; i++)
        buf[i] = (char)(i * 7 + 3);
    CHECK(write(fd, buf, N) == N);

    char *p = mmap(NULL, N, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, buf, N) == 0);
    /* Bytes past the end of the file in the last page read as zero. */
    int zero_tail = 1;
    for (int i = N; i < 4 * 4096; i++)
        if (p[i] != 0)
            zero_tail = 0;
    CHECK(zero_tail);
    CHECK(munmap(p, N) == 0);

    /* An offset mapping. */
    char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 8192);
    CHECK(q != MAP_FAILED && memcmp(q, buf + 8192, 4096) == 0);
    CHECK(munmap(q, 4096) == 0);

    /* Private writes stay private; the file is unchanged. */
    char *w = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(w != MAP_FAILED);
    w[10] = 'X';
    w[5000] = 'Y';
    char c;
    CHECK(pread(fd, &c, 1, 10) == 1 && c == buf[10]);
    CHECK(madvise(w, 8192, MADV_DONTNEED) == 0);
    CHECK(w[10] == buf[10] && w[5000] == buf[5000]);
    /* Growing a file mapping with mremap keeps it file-backed. */
    char *g = mremap(w, 4096, 8192, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED && memcmp(g, buf, 8192) == 0);
    CHECK(mprotect(g, 4096, PROT_READ) == 0);
    CHECK(g[1] == buf[1]);
    munmap(g, 8192);
    munmap(w + 4096, N - 4096);

    /* Errors. */
    EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
    EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 123), EINVAL);
    int wo = open("data", O_WRONLY);
    CHECK(wo >= 0);
    EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0), EACCES);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, d, 0), ENODEV);
    /* /dev/zero maps as anonymous memory. */
    int z = open("/dev/zero", O_RDWR);
    char *zp = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    CHECK(zp != MAP_FAILED && zp[100] == 0);
    zp[100] = 1;
    CHECK(zp[100] == 1);

    close(wo);
    close(d);
    close(z);
    close(fd);
    CHECK(unlink("data") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
