/* Sparse use of a large address range: 2 GiB reserved (MAP_NORESERVE, and
 * PROT_NONE then opened piecewise with mprotect), one byte touched every
 * 64 MiB, every touched byte read back and every untouched one zero. */
#include "common.h"
#include <sys/mman.h>

#define GIB (1UL << 30)
#define STEP (64UL << 20)

static void touch_and_verify(unsigned char *base, const char *what) {
    for (unsigned long off = 0, i = 0; off < 2 * GIB; off += STEP, i++)
        base[off + i] = (unsigned char)(i + 1);
    int ok = 1;
    for (unsigned long off = 0, i = 0; off < 2 * GIB; off += STEP, i++) {
        if (base[off + i] != (unsigned char)(i + 1))
            ok = 0;
        if (base[off + STEP / 2] != 0)
            ok = 0;
    }
    printf("%s: %lu bytes touched across 2 GiB: %s\n", what, 2 * GIB / STEP, ok ? "ok" : "MISMATCH");
    if (!ok)
        failures++;
}

int main(void) {
    unsigned char *r = mmap(NULL, 2 * GIB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(r != MAP_FAILED);
    if (r != MAP_FAILED) {
        touch_and_verify(r, "MAP_NORESERVE");
        CHECK(munmap(r, 2 * GIB) == 0);
    }

    unsigned char *n = mmap(NULL, 2 * GIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(n != MAP_FAILED);
    if (n != MAP_FAILED) {
        int ok = 1;
        for (unsigned long off = 0; off < 2 * GIB; off += STEP)
            if (mprotect(n + off, STEP / 2, PROT_READ | PROT_WRITE) != 0)
                ok = 0;
        CHECK(ok);
        for (unsigned long off = 0; off < 2 * GIB; off += STEP)
            n[off + 5] = (unsigned char)(off >> 26);
        ok = 1;
        for (unsigned long off = 0; off < 2 * GIB; off += STEP)
            if (n[off + 5] != (unsigned char)(off >> 26) || n[off + 6] != 0)
                ok = 0;
        printf("PROT_NONE reservation opened piecewise: %s\n", ok ? "ok" : "MISMATCH");
        if (!ok)
            failures++;
        CHECK(munmap(n, 2 * GIB) == 0);
    }
    return finish();
}
