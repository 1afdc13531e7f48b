/* The main stack grows on demand: recursion 1 MiB and then 4 MiB deep, each
 * frame holding a 1 KiB array whose contents feed a checksum. */
#include "common.h"

static unsigned long recurse(int depth) {
    volatile unsigned char frame[1024];
    for (int i = 0; i < 1024; i += 64)
        frame[i] = (unsigned char)(depth + i);
    if (depth == 0)
        return frame[0];
    unsigned long below = recurse(depth - 1);
    unsigned long sum = below;
    for (int i = 0; i < 1024; i += 64)
        sum += frame[i];
    return sum;
}

int main(void) {
    printf("1 MiB deep: checksum %lu\n", recurse(1024));
    printf("4 MiB deep: checksum %lu\n", recurse(4096));
    return finish();
}
