/* brk/sbrk: growing, shrinking, memory after a regrow reads as zero, the
 * shrunk range is unmapped, and a break below the start is refused. */
#include "common.h"
#include <sys/mman.h>

#define PG 4096UL

extern char end; /* end of .bss */

int main(void) {
    char *cur = (char *)syscall(SYS_brk, 0);
    CHECK(cur == sbrk(0));
    /* Page-align the break so the test owns whole pages. */
    char *aligned = (char *)(((unsigned long)cur + PG - 1) & ~(PG - 1));
    CHECK(sbrk(aligned - cur) == cur);
    CHECK(sbrk(0) == aligned);

    char *p = sbrk(16 * PG);
    CHECK(p == aligned);
    CHECK(sbrk(0) == aligned + 16 * PG);
    int z = 1;
    for (size_t i = 0; i < 16 * PG; i++)
        if (p[i])
            z = 0;
    CHECK(z);
    memset(p, 0xaa, 16 * PG);

    CHECK(sbrk(-(intptr_t)(8 * PG)) == aligned + 16 * PG);
    CHECK(sbrk(0) == aligned + 8 * PG);
    CHECK(p[8 * PG - 1] == (char)0xaa);
    CHECK(mprotect(p + 8 * PG, 8 * PG, PROT_READ) == -1 && errno == ENOMEM);

    CHECK(sbrk(8 * PG) == aligned + 8 * PG);
    z = 1;
    for (size_t i = 8 * PG; i < 16 * PG; i++)
        if (p[i])
            z = 0;
    printf("regrown pages read as zero: %s\n", z ? "yes" : "no");
    CHECK(p[0] == (char)0xaa);

    /* The raw syscall returns the old break when it refuses. */
    char *now = sbrk(0);
    CHECK((char *)syscall(SYS_brk, (uintptr_t)&end - (1UL << 20)) == now);
    CHECK((char *)syscall(SYS_brk, (void *)(1UL << 47)) == now);
    CHECK(sbrk(0) == now);
    CHECK(cur >= &end);

    CHECK(sbrk(-(intptr_t)(16 * PG)) == now);
    CHECK(sbrk(0) == aligned);
    return finish();
}
