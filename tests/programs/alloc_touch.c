/* Maps argv[1] MiB of anonymous memory and writes every page, reporting each 8 MiB;
 * prints "touched N MiB" at the end. With "hold" as argv[2] it reports nothing but
 * "held N MiB" once done, and then waits for a signal. The OCI tests run it past a
 * memory limit (the largest process is then killed by SIGKILL); natively it allocates
 * a little. */
#include "common.h"
#include <sys/mman.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 8;
    size_t len = (size_t)mib << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return finish();
    int hold = argc > 2 && !strcmp(argv[2], "hold");
    for (size_t off = 0; off < len; off += 4096) {
        p[off] = 1;
        if (!hold && off % (8 << 20) == 0) {
            printf("at %zu MiB\n", off >> 20);
            fflush(stdout);
        }
    }
    if (hold) {
        printf("held %ld MiB\n", mib);
        fflush(stdout);
        for (;;)
            pause();
    }
    printf("touched %ld MiB\n", mib);
    return finish();
}
