/* Loading from address 0 kills the process with SIGSEGV. */
#include "common.h"

int main(void) {
    say_and_flush("before");
    int v = *(volatile int *)0;
    printf("after (should not be reached) %d\n", v);
    return 0;
}
