/* execveat: exec through an O_RDONLY or O_PATH descriptor with AT_EMPTY_PATH
 * (also a close-on-exec one), a name relative to a directory descriptor, an
 * absolute name (the descriptor ignored), a symlink (followed, or ELOOP with
 * AT_SYMLINK_NOFOLLOW); the new image's AT_EXECFN and /proc/self/comm; errors:
 * unknown flags EINVAL, "" without AT_EMPTY_PATH ENOENT, a directory EACCES, a
 * bad descriptor EBADF, a relative name with a non-directory descriptor ENOTDIR. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/auxv.h>
#include <sys/wait.h>

static int sys_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static char exe[PATH_MAX];
static char *child_argv[] = {"execveat", "child", exe, NULL};
static char *child_env[] = {"K=V", NULL};

static void run(const char *what, int dirfd, const char *path, int flags) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sys_execveat(dirfd, path, child_argv, child_env, flags);
        printf("%s: execveat failed: %s\n", what, errname(errno));
        fflush(stdout);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("%s: status=%d\n", what, WEXITSTATUS(st));
}

/* Start from default signal dispositions and an empty mask, whatever the
 * environment left (e.g. SIGINT/SIGQUIT ignored in background jobs). */
static void default_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        char comm[64] = {0};
        int fd = open("/proc/self/comm", O_RDONLY);
        ssize_t n = read(fd, comm, sizeof comm - 1);
        if (n > 0 && comm[n - 1] == '\n')
            comm[n - 1] = 0;
        close(fd);
        /* The binary's path differs between setups: show it as <exe> and <base>. */
        const char *path = argc > 2 ? argv[2] : "";
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *fn = (const char *)getauxval(AT_EXECFN);
        char shown[PATH_MAX + 16];
        if (!fn)
            fn = "?";
        size_t bl = strlen(base);
        if (strcmp(fn, path) == 0)
            snprintf(shown, sizeof shown, "<exe>");
        else if (strlen(fn) > bl && strcmp(fn + strlen(fn) - bl, base) == 0 && fn[strlen(fn) - bl - 1] == '/')
            snprintf(shown, sizeof shown, "%.*s<base>", (int)(strlen(fn) - bl), fn);
        else
            snprintf(shown, sizeof shown, "%s", fn);
        char base15[16];
        snprintf(base15, sizeof base15, "%s", base);
        printf("  child: AT_EXECFN=%s comm=%s env=%s\n", shown, strcmp(comm, base15) == 0 ? "<base>" : comm,
               getenv("K") ? getenv("K") : "-");
        fflush(stdout);
        return 7;
    }
    default_signals();
    char dirbuf[PATH_MAX], basebuf[PATH_MAX];
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    strcpy(dirbuf, exe);
    strcpy(basebuf, exe);
    const char *dir = dirname(dirbuf);
    const char *base = basename(basebuf);

    int fd = open(exe, O_RDONLY);
    CHECK(fd >= 0);
    run("O_RDONLY fd + AT_EMPTY_PATH", fd, "", AT_EMPTY_PATH);
    int pfd = open(exe, O_PATH);
    CHECK(pfd >= 0);
    run("O_PATH fd + AT_EMPTY_PATH", pfd, "", AT_EMPTY_PATH);
    int cfd = open(exe, O_RDONLY | O_CLOEXEC);
    run("close-on-exec fd + AT_EMPTY_PATH", cfd, "", AT_EMPTY_PATH);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    run("dirfd + relative name", dfd, base, 0);
    run("absolute name, dirfd ignored", 12345, exe, 0);
    CHECK(symlink(exe, "link") == 0);
    run("AT_FDCWD + symlink", AT_FDCWD, "link", 0);
    EXPECT_ERRNO(sys_execveat(AT_FDCWD, "link", child_argv, child_env, AT_SYMLINK_NOFOLLOW), ELOOP);
    EXPECT_ERRNO(sys_execveat(AT_FDCWD, exe, child_argv, child_env, 0x1), EINVAL);
    EXPECT_ERRNO(sys_execveat(fd, "", child_argv, child_env, 0), ENOENT);
    EXPECT_ERRNO(sys_execveat(dfd, "", child_argv, child_env, AT_EMPTY_PATH), EACCES);
    EXPECT_ERRNO(sys_execveat(999, "x", child_argv, child_env, 0), EBADF);
    EXPECT_ERRNO(sys_execveat(fd, "x", child_argv, child_env, 0), ENOTDIR);
    EXPECT_ERRNO(sys_execveat(dfd, "no-such-file", child_argv, child_env, 0), ENOENT);
    return finish();
}
