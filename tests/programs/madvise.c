/* madvise: MADV_DONTNEED zeroes private anonymous pages and keeps shared
 * anonymous ones; bad ranges and advice are errors. */
#include "common.h"
#include <sys/mman.h>

#define PG 4096UL

int main(void) {
    unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 0xab, 4 * PG);
    CHECK(madvise(p + PG, 2 * PG, MADV_DONTNEED) == 0);
    int z = 1, kept = 1;
    for (size_t i = PG; i < 3 * PG; i++)
        if (p[i])
            z = 0;
    for (size_t i = 0; i < PG; i++)
        if (p[i] != 0xab || p[3 * PG + i] != 0xab)
            kept = 0;
    printf("private: dropped pages read as zero: %s\n", z ? "yes" : "no");
    printf("private: other pages kept: %s\n", kept ? "yes" : "no");
    p[PG] = 1; /* still mapped and writable */
    CHECK(p[PG] == 1);

    unsigned char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    memset(s, 0x5a, 2 * PG);
    CHECK(madvise(s, 2 * PG, MADV_DONTNEED) == 0);
    printf("shared: contents kept after DONTNEED: %s\n", s[0] == 0x5a && s[2 * PG - 1] == 0x5a ? "yes" : "no");

    CHECK(madvise(p, 4 * PG, MADV_NORMAL) == 0);
    CHECK(madvise(p, 4 * PG, MADV_WILLNEED) == 0);
    CHECK(madvise(p, 4 * PG, MADV_SEQUENTIAL) == 0);
    CHECK(madvise(p, 0, MADV_DONTNEED) == 0);
    EXPECT_ERRNO(madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
    EXPECT_ERRNO(madvise(p, PG, 12345), EINVAL);
    CHECK(munmap(p + 2 * PG, PG) == 0);
    EXPECT_ERRNO(madvise(p, 4 * PG, MADV_WILLNEED), ENOMEM);
    return finish();
}
