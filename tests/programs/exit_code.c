/* Exits with the status given in argv[1], by the path named in argv[2]:
 * "exit" (libc exit, the default), "_exit", or "syscall" (raw SYS_exit, which
 * ends the process since it is the only thread). */
#include "common.h"

int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 0;
    const char *how = argc > 2 ? argv[2] : "exit";
    printf("exiting with %d via %s\n", code, how);
    fflush(stdout);
    if (strcmp(how, "_exit") == 0)
        _exit(code);
    if (strcmp(how, "syscall") == 0)
        syscall(SYS_exit, code);
    exit(code);
}
