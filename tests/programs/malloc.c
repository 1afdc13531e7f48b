/* malloc through both of glibc's paths: small blocks from the brk heap and
 * huge blocks from mmap, with their contents written and checked. */
#include "common.h"
#include <malloc.h>

static unsigned char pattern(size_t i, size_t salt) { return (unsigned char)(i * 31 + salt * 7 + 1); }

int main(void) {
    /* glibc has already grown the heap before main, and where the heap starts
     * depends on the kernel and on PIE-ness, so "from the brk heap" is checked
     * as "in the 32 MiB below the program break". */
    char *heap_lo;
    enum { N = 2000 };
    static unsigned char *blocks[N];
    static size_t sizes[N];
    for (size_t i = 0; i < N; i++) {
        sizes[i] = 1 + (i * 37) % 2000;
        blocks[i] = malloc(sizes[i]);
        if (!blocks[i])
            break;
        for (size_t j = 0; j < sizes[i]; j++)
            blocks[i][j] = pattern(j, i);
    }
    char *heap_hi = sbrk(0);
    heap_lo = (uintptr_t)heap_hi > (32u << 20) ? heap_hi - (32u << 20) : 0;
    int all_ok = 1, in_heap = 1;
    for (size_t i = 0; i < N; i++) {
        if (!blocks[i]) {
            all_ok = 0;
            continue;
        }
        for (size_t j = 0; j < sizes[i]; j++)
            if (blocks[i][j] != pattern(j, i))
                all_ok = 0;
        if ((char *)blocks[i] < heap_lo || (char *)blocks[i] >= heap_hi)
            in_heap = 0;
    }
    CHECK(all_ok);
    CHECK(in_heap);
    CHECK(heap_hi > heap_lo);
    for (size_t i = 0; i < N; i += 2)
        free(blocks[i]);
    for (size_t i = 1; i < N; i += 2) {
        for (size_t j = 0; j < sizes[i]; j++)
            if (blocks[i][j] != pattern(j, i))
                all_ok = 0;
        free(blocks[i]);
    }
    CHECK(all_ok);

    /* Huge: 64 MiB and 256 MiB come from mmap, outside the brk heap. */
    size_t sizes_big[] = {64u << 20, 256u << 20};
    for (int k = 0; k < 2; k++) {
        size_t sz = sizes_big[k];
        unsigned char *p = malloc(sz);
        CHECK(p != NULL);
        if (!p)
            continue;
        char *hi = sbrk(0);
        printf("huge block of %zu MiB outside brk heap: %s\n", sz >> 20,
               ((char *)p + sz <= heap_lo || (char *)p >= hi) ? "yes" : "no");
        int zero = 1, ok = 1;
        for (size_t off = 0; off < sz; off += 4096)
            if (p[off] != 0)
                zero = 0;
        for (size_t off = 0; off < sz; off += 4096)
            p[off] = pattern(off / 4096, k);
        for (size_t off = 0; off < sz; off += 4096)
            if (p[off] != pattern(off / 4096, k))
                ok = 0;
        CHECK(zero);
        CHECK(ok);
        free(p);
    }

    /* calloc zeroes; realloc preserves the prefix across a move to mmap. */
    unsigned char *c = calloc(1000, 1000);
    int czero = 1;
    for (size_t i = 0; c && i < 1000000; i++)
        if (c[i])
            czero = 0;
    CHECK(c != NULL && czero);
    free(c);
    unsigned char *r = malloc(100);
    for (int i = 0; i < 100; i++)
        r[i] = pattern(i, 9);
    r = realloc(r, 10u << 20);
    int rok = r != NULL;
    for (int i = 0; rok && i < 100; i++)
        if (r[i] != pattern(i, 9))
            rok = 0;
    CHECK(rok);
    free(r);
    return finish();
}
