/* Makes each syscall number given in argv twice with zero arguments and prints the
 * errno it got. Run only in the sandbox by tests/tests/cli.rs (natively these numbers
 * would do real things): it checks unsupported syscalls get their table errno and are
 * logged once per name. */
#include "common.h"

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        long nr = strtol(argv[i], NULL, 10);
        for (int k = 0; k < 2; k++) {
            errno = 0;
            long r = syscall(nr, 0, 0, 0, 0, 0, 0);
            printf("%ld: %ld %s\n", nr, r, r == -1 ? errname(errno) : "-");
        }
    }
    return 0;
}
