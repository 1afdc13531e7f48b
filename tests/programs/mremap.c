/* mremap: growth in place, growth blocked without MREMAP_MAYMOVE (ENOMEM),
 * moves with MREMAP_MAYMOVE, MREMAP_FIXED, shrinking, and bad arguments.
 * Contents must survive every move. */
#include "common.h"
#include <sys/mman.h>

#define PG 4096UL

static void fill(unsigned char *p, size_t n, int salt) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i / 7 + salt);
}
static int same(const unsigned char *p, size_t n, int salt) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i / 7 + salt))
            return 0;
    return 1;
}
static int zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}
static int unmapped(void *p, size_t n) { return mprotect(p, n, PROT_READ) == -1 && errno == ENOMEM; }

int main(void) {
    /* Reserve 8 pages, keep the first 2, free the rest: room to grow. */
    unsigned char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    CHECK(munmap(a + 2 * PG, 6 * PG) == 0);
    fill(a, 2 * PG, 1);
    unsigned char *g = mremap(a, 2 * PG, 4 * PG, 0);
    CHECK(g == a);
    CHECK(same(g, 2 * PG, 1));
    CHECK(zero(g + 2 * PG, 2 * PG));

    /* Block the growth with a mapping right after it. */
    unsigned char *blocker = mmap(a + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(blocker == a + 4 * PG);
    EXPECT_ERRNO(mremap(a, 4 * PG, 6 * PG, 0), ENOMEM);
    CHECK(same(a, 2 * PG, 1));

    /* MAYMOVE: the mapping moves, keeps its contents, the old range is gone. */
    fill(a, 4 * PG, 2);
    unsigned char *m = mremap(a, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
    CHECK(m != MAP_FAILED);
    CHECK(m != a);
    CHECK(same(m, 4 * PG, 2));
    CHECK(zero(m + 4 * PG, 60 * PG));
    CHECK(unmapped(a, 4 * PG));
    CHECK(!unmapped(blocker, PG));

    /* MREMAP_FIXED onto a range we reserved; whatever was there is replaced. */
    unsigned char *target = mmap(NULL, 16 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(target != MAP_FAILED);
    unsigned char *f = mremap(m, 64 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    CHECK(f == target);
    CHECK(same(f, 4 * PG, 2));
    CHECK(unmapped(m, 64 * PG));
    f[16 * PG - 1] = 9; /* writable now: the protection came with the mapping */
    CHECK(f[16 * PG - 1] == 9);

    /* Shrink in place: the tail is unmapped. */
    unsigned char *s = mremap(f, 16 * PG, 3 * PG, 0);
    CHECK(s == f);
    CHECK(same(s, 3 * PG, 2));
    CHECK(unmapped(f + 3 * PG, 13 * PG));

    /* Bad arguments. */
    EXPECT_ERRNO(mremap(s + 1, PG, 2 * PG, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERRNO(mremap(s, PG, 2 * PG, 0x80), EINVAL);
    EXPECT_ERRNO(mremap(s, PG, 2 * PG, MREMAP_FIXED, target), EINVAL);
    EXPECT_ERRNO(mremap(s, PG, 0, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERRNO(mremap(a, PG, 2 * PG, MREMAP_MAYMOVE), EFAULT);
    return finish();
}
