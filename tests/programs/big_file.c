/* Large file I/O: 5 MiB written in odd-sized chunks, read back with several chunk sizes
 * and with pread at scattered offsets, checksums compared; lseek past the end, a write
 * there leaves a zero-filled gap. In a scratch dir. */
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
#include <fcntl.h>

enum { SIZE = 5 << 20 };

static unsigned char byte(long i) { return (unsigned char)(i * 2654435761u >> 13); }

int main(void) {
    char dir[] = "/tmp/bf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    static unsigned char buf[SIZE];
    for (long i = 0; i < SIZE; i++)
        buf[i] = byte(i);
    long done = 0, chunk = 4093;
    while (done < SIZE) {
        long n = SIZE - done < chunk ? SIZE - done : chunk;
        CHECK_QUIET(write(fd, buf + done, n) == n);
        done += n;
        chunk = chunk * 3 % 100003 + 1;
    }
    long sizes[] = {4096, 65536, 1 << 20};
    static unsigned char back[SIZE];
    for (int k = 0; k < 3; k++) {
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        long got = 0, n;
        while ((n = read(fd, back + got, sizes[k] < SIZE - got ? sizes[k] : SIZE - got)) > 0)
            got += n;
        printf("chunk %ld: read %ld, same %s\n", sizes[k], got, got == SIZE && !memcmp(buf, back, SIZE) ? "yes" : "no");
    }
    /* The last 100 bytes one byte at a time, then EOF. */
    CHECK(lseek(fd, SIZE - 100, SEEK_SET) == SIZE - 100);
    int tail_ok = 1;
    for (long i = SIZE - 100; i < SIZE; i++) {
        unsigned char c;
        if (read(fd, &c, 1) != 1 || c != buf[i])
            tail_ok = 0;
    }
    unsigned char c;
    CHECK(tail_ok && read(fd, &c, 1) == 0);
    int ok = 1;
    for (long off = 7; off < SIZE; off += 99991) {
        unsigned char b[300];
        long n = pread(fd, b, sizeof b, off);
        long want = SIZE - off < 300 ? SIZE - off : 300;
        if (n != want || memcmp(b, buf + off, n))
            ok = 0;
    }
    CHECK(ok);
    CHECK(lseek(fd, SIZE + 10000, SEEK_SET) == SIZE + 10000 && write(fd, "end", 3) == 3);
    unsigned char gap[10000];
    CHECK(pread(fd, gap, sizeof gap, SIZE) == sizeof gap);
    int zero = 1;
    for (int i = 0; i < 10000; i++)
        if (gap[i])
            zero = 0;
    CHECK(zero);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE + 10003);
    close(fd);
    unlink("big");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
