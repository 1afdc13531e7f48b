/* Integer division by zero kills the process with SIGFPE (status 136). */
#include "common.h"

int main(void) {
    volatile int zero = 0, one = 1;
    say_and_flush("before");
    int q = one / zero;
    printf("after (should not be reached) %d\n", q);
    return 0;
}
