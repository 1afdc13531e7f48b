/* /proc/self/status's identity lines (Uid, Gid: real, effective, saved, fs; Groups)
 * follow set*id(2), setfsuid(2) and setgroups(2) exactly as Linux formats them, also
 * for another thread. Run as root. */
#include "common.h"
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/wait.h>

static void show(const char *when) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    if (!f) {
        printf("FAIL fopen\n");
        failures++;
        return;
    }
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
            !strncmp(line, "Groups:", 7))
            printf("%s %s", when, line);
    fclose(f);
}

int main(void) {
    if (geteuid() != 0) {
        printf("needs root\n");
        return finish();
    }
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        CHECK(setgroups(0, NULL) == 0);
        show("no groups");
        gid_t g[] = {30, 10, 20};
        CHECK(setgroups(3, g) == 0);
        show("three groups");
        CHECK(setresgid(100, 200, 300) == 0);
        show("setresgid");
        setfsgid(400);
        show("setfsgid");
        CHECK(setresuid(1000, 2000, 0) == 0);
        show("setresuid");
        setfsuid(3000);
        show("setfsuid");
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st;
    waitpid(p, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return finish();
}
