/* A store to a page made read-only with mprotect kills the process with
 * SIGSEGV; reads still work. */
#include "common.h"
#include <sys/mman.h>

int main(void) {
    volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 'x';
    CHECK(mprotect((void *)p, 4096, PROT_READ) == 0);
    CHECK(p[0] == 'x');
    say_and_flush("before");
    p[1] = 'y';
    say_and_flush("after (should not be reached)");
    return 0;
}
