/* Reading a PROT_NONE page kills the process with SIGSEGV. */
#include "common.h"
#include <sys/mman.h>

int main(void) {
    volatile char *p = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    say_and_flush("before");
    char c = p[4096];
    printf("after (should not be reached) %d\n", c);
    return 0;
}
