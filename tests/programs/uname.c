/* uname: the system name and machine; the release and version exist. */
#include "common.h"
#include <sys/utsname.h>

int main(void) {
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("sysname %s\n", u.sysname);
    printf("machine %s\n", u.machine);
    printf("release non-empty: %s\n", u.release[0] ? "yes" : "no");
    printf("release starts with a digit: %s\n", u.release[0] >= '0' && u.release[0] <= '9' ? "yes" : "no");
    printf("version non-empty: %s\n", u.version[0] ? "yes" : "no");
    printf("nodename non-empty: %s\n", u.nodename[0] ? "yes" : "no");
    CHECK(memchr(u.sysname, 0, sizeof u.sysname) != NULL);
    CHECK(memchr(u.release, 0, sizeof u.release) != NULL);
    return finish();
}
