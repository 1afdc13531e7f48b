/* The smallest program: one line on stdout, exit 0. Also the probe program
 * the harness uses to find out whether a platform is available. */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
