/* mmap placement and flags: a free hint is honoured, MAP_FIXED replaces,
 * MAP_FIXED_NOREPLACE refuses to (EEXIST), anonymous memory is zero, and
 * invalid flag combinations are rejected. */
#include "common.h"
#include <sys/mman.h>

#define PG 4096UL

int main(void) {
    /* Find a free range by mapping and unmapping it; it is then a free hint. */
    unsigned char *hole = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hole != MAP_FAILED);
    CHECK(munmap(hole, 16 * PG) == 0);
    unsigned char *h = mmap(hole + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h == hole + 4 * PG);
    int z = 1;
    for (size_t i = 0; i < 4 * PG; i++)
        if (h[i])
            z = 0;
    CHECK(z);
    memset(h, 7, 4 * PG);

    /* A hint that overlaps a mapping is not honoured, and nothing is replaced. */
    unsigned char *o = mmap(h, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED && o != h);
    CHECK(h[0] == 7);

    /* MAP_FIXED_NOREPLACE: EEXIST over a mapping, exact address when free. */
    EXPECT_ERRNO(mmap(h + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK(h[PG] == 7);
    unsigned char *nr = mmap(hole + 12 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(nr == hole + 12 * PG);

    /* MAP_FIXED replaces: the page reads as zero afterwards. */
    unsigned char *fx = mmap(h + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(fx == h + PG);
    CHECK(h[PG] == 0 && h[0] == 7 && h[2 * PG] == 7);

    /* A hint above the 47-bit user address space is ignored. */
    unsigned char *hi = mmap((void *)(1UL << 50), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hi != MAP_FAILED && (unsigned long)hi < (1UL << 47));

    /* Addresses are page aligned; PROT_READ-only is readable. */
    unsigned char *ro = mmap(NULL, 3 * PG + 1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED && ((unsigned long)ro & (PG - 1)) == 0);
    CHECK(ro[4 * PG - 1] == 0); /* the length was rounded up to 4 pages */

    EXPECT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERRNO(mmap(h + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    EXPECT_ERRNO(mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    EXPECT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
    EXPECT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1), EINVAL);
    return finish();
}
