/* Escape attempts through descriptors and /proc, for tests/real_programs.rs, which runs
 * it under --root-dir with a secret file planted next to the root: every attempt must
 * fail to open the secret; the program prints one line per attempt. */
#include "common.h"
#include <fcntl.h>

static void attempt(const char *what, int fd) {
    char buf[128] = {0};
    if (fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "secret"))
        printf("%s: READ THE SECRET\n", what);
    else
        printf("%s: refused\n", what);
    if (fd >= 0)
        close(fd);
}

int main(void) {
    int root = open("/", O_RDONLY | O_DIRECTORY);
    int rootpath = open("/", O_PATH);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d/../secret", root);
    attempt("proc fd dotdot", open(p, O_RDONLY));
    snprintf(p, sizeof p, "/proc/self/fd/%d/../../secret", rootpath);
    attempt("proc O_PATH fd dotdot", open(p, O_RDONLY));
    attempt("openat dotdot", openat(root, "../secret", O_RDONLY));
    attempt("openat deep dotdot", openat(root, "../../../../secret", O_RDONLY));
    for (int i = 0; i < 10; i++)
        chdir("..");
    attempt("chdir dotdot loop", open("secret", O_RDONLY));
    attempt("cwd link", open("/proc/self/cwd/../secret", O_RDONLY));
    attempt("root link", open("/proc/1/root/../../secret", O_RDONLY));
    /* fd 0 is donated by the host: the directory holding the secret, outside the root
     * (natively each of these would read it). */
    attempt("donated fd child", open("/proc/self/fd/0/secret", O_RDONLY));
    attempt("donated fd dotdot", open("/proc/self/fd/0/../secret", O_RDONLY));
    attempt("donated fd dotdot deep", open("/proc/self/fd/0/../../secret", O_RDONLY));
    attempt("dev stdin dotdot", open("/dev/stdin/../secret", O_RDONLY));
    attempt("donated fd openat dotdot", openat(0, "../secret", O_RDONLY));
    attempt("donated fd openat", openat(0, "secret", O_RDONLY));
    attempt("chroot escape", chroot("/tmp") == 0 && chdir("../..") == 0 ? open("secret", O_RDONLY) : -1);
    return 0;
}
