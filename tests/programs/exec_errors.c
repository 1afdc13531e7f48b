/* execve failures, all returning to the caller: ENOENT (missing file, missing
 * directory component, empty path), ENOTDIR, EACCES (no execute bit at all,
 * even for root; a directory), ENOEXEC (garbage, an empty file, a truncated ELF
 * header, a file executable only by "others", which root may exec),
 * ETXTBSY (a file open for writing), ELOOP, ENAMETOOLONG, E2BIG (one argument
 * longer than 32 pages), EFAULT (bad path, bad argv entry; but a missing
 * program fails with ENOENT first, as Linux looks it up before it reads argv and
 * envp). Files are made in
 * the scratch working directory. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>

static char *args[] = {"x", NULL};
static char *env[] = {NULL};

static void make(const char *name, const void *data, size_t len, mode_t mode) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
    close(fd);
    chmod(name, mode);
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

int main(void) {
    default_signals();
    EXPECT_ERRNO(execve("/no/such/program", args, env), ENOENT);
    EXPECT_ERRNO(execve("missing", args, env), ENOENT);
    EXPECT_ERRNO(execve("", args, env), ENOENT);
    make("plain", "hello\n", 6, 0644);
    EXPECT_ERRNO(execve("plain/x", args, env), ENOTDIR);
    EXPECT_ERRNO(execve("plain", args, env), EACCES);
    CHECK(mkdir("dir", 0755) == 0);
    EXPECT_ERRNO(execve("dir", args, env), EACCES);
    EXPECT_ERRNO(execve(".", args, env), EACCES);
    make("garbage", "hello\n", 6, 0755);
    EXPECT_ERRNO(execve("garbage", args, env), ENOEXEC);
    make("empty", "", 0, 0755);
    EXPECT_ERRNO(execve("empty", args, env), ENOEXEC);
    make("short-elf", "\177ELF\2\1\1", 7, 0755);
    EXPECT_ERRNO(execve("short-elf", args, env), ENOEXEC);
    make("only-x-for-others", "hello\n", 6, 0601);
    EXPECT_ERRNO(execve("only-x-for-others", args, env), ENOEXEC);

    int w = open("busy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    CHECK(w >= 0 && write(w, "#!/bin/sh\n", 10) == 10);
    EXPECT_ERRNO(execve("busy", args, env), ETXTBSY);
    close(w);

    CHECK(symlink("loop1", "loop2") == 0 && symlink("loop2", "loop1") == 0);
    EXPECT_ERRNO(execve("loop1", args, env), ELOOP);
    static char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    EXPECT_ERRNO(execve(longpath, args, env), ENAMETOOLONG);
    static char huge[33 * 4096 + 1];
    memset(huge, 'b', sizeof huge - 1);
    char *big_args[] = {"x", huge, NULL};
    EXPECT_ERRNO(execve("/proc/self/exe", big_args, env), E2BIG);
    char *big_env[] = {huge, NULL};
    EXPECT_ERRNO(execve("/proc/self/exe", args, big_env), E2BIG);
    EXPECT_ERRNO(syscall(SYS_execve, (char *)16, args, env), EFAULT);
    char *bad_args[] = {"x", (char *)16, NULL};
    EXPECT_ERRNO(execve("/proc/self/exe", bad_args, env), EFAULT);
    EXPECT_ERRNO(syscall(SYS_execve, "/proc/self/exe", (char **)16, env), EFAULT);
    /* The program is looked up before argv and envp are read. */
    EXPECT_ERRNO(syscall(SYS_execve, "missing", (char **)16, env), ENOENT);
    EXPECT_ERRNO(syscall(SYS_execve, "plain/x", args, (char **)16), ENOTDIR);
    EXPECT_ERRNO(syscall(SYS_execve, "missing", bad_args, env), ENOENT);
    /* Still the same program after all of that. */
    printf("still running the original image: yes\n");
    return finish();
}
