/* /proc/self/exe names the program that was executed (the harness runs it by
 * its absolute, canonical path); getcwd returns the directory the harness
 * chose, which it also passes in $PWD. */
#include "common.h"
#include <limits.h>

int main(int argc, char **argv) {
    (void)argc;
    char buf[PATH_MAX + 1];
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    CHECK(n > 0);
    if (n > 0) {
        buf[n] = 0;
        printf("/proc/self/exe is absolute: %s\n", buf[0] == '/' ? "yes" : "no");
        printf("/proc/self/exe == argv[0]: %s\n", strcmp(buf, argv[0]) == 0 ? "yes" : "no");
        const char *base = strrchr(buf, '/');
        printf("/proc/self/exe basename %s\n", base ? base + 1 : buf);
    }
    char small[4];
    n = readlink("/proc/self/exe", small, sizeof small);
    CHECK(n == sizeof small);

    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) == cwd);
    const char *pwd = getenv("PWD");
    printf("getcwd == $PWD: %s\n", pwd && strcmp(cwd, pwd) == 0 ? "yes" : "no");
    char *dyn = getcwd(NULL, 0);
    CHECK(dyn && strcmp(dyn, cwd) == 0);
    free(dyn);
    char tiny[1];
    EXPECT_ERRNO(syscall(SYS_getcwd, tiny, sizeof tiny), ERANGE);
    return finish();
}
