/* abort() kills the process with SIGABRT (status 134). */
#include "common.h"

int main(void) {
    say_and_flush("before");
    abort();
}
