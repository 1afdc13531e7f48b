/* execve of the program's own binary (/proc/self/exe) with new argv and envp:
 * the new image sees exactly the argv and environment given (including empty
 * strings, an entry without '='), a NULL argv becomes a single empty argv[0],
 * a NULL envp an empty environment; what exec keeps (pid, parent, cwd, umask,
 * rlimits, process group, /proc/self/exe) and AT_EXECFN; /proc/self/cmdline
 * matches argv. The main process itself execs at the end ("final" stage). */
#include "common.h"
#include <signal.h>
#include <limits.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>

extern char **environ;

static int show(int argc, char **argv) {
    printf("  argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("  argv[%d]=\"%s\"\n", i, argv[i]);
    printf("  argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
    int n = 0;
    for (char **e = environ; *e; e++, n++)
        printf("  env \"%s\"\n", *e);
    printf("  env count=%d\n", n);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("  AT_EXECFN=%s\n", fn ? fn : "(null)");
    return 0;
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
    if (argc >= 2 && strcmp(argv[1], "show") == 0) {
        show(argc, argv);
        fflush(stdout);
        return 3;
    }
    if (argc == 1 && argv[0][0] == 0) {
        printf("  started with a NULL argv: argc=%d argv[0]=\"%s\"\n", argc, argv[0]);
        fflush(stdout);
        return 4;
    }
    if (argc >= 2 && strcmp(argv[1], "keep") == 0) {
        /* argv: keep <pid> <ppid> <cwd> <pgid> <exe> */
        char cwd[PATH_MAX], exe[PATH_MAX] = {0};
        printf("  pid kept: %s\n", getpid() == atoi(argv[2]) ? "yes" : "no");
        printf("  ppid kept: %s\n", getppid() == atoi(argv[3]) ? "yes" : "no");
        printf("  cwd kept: %s\n", getcwd(cwd, sizeof cwd) && strcmp(cwd, argv[4]) == 0 ? "yes" : "no");
        printf("  pgid kept: %s\n", getpgrp() == atoi(argv[5]) ? "yes" : "no");
        CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
        printf("  /proc/self/exe same: %s\n", strcmp(exe, argv[6]) == 0 ? "yes" : "no");
        mode_t m = umask(0);
        printf("  umask=%03o\n", (unsigned)m);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        printf("  RLIMIT_NOFILE soft=%ld\n", (long)rl.rlim_cur);
        char cmd[256];
        int fd = open("/proc/self/cmdline", O_RDONLY);
        ssize_t n = read(fd, cmd, sizeof cmd);
        close(fd);
        int args = 0;
        for (ssize_t i = 0; i < n; i++)
            if (cmd[i] == 0)
                args++;
        printf("  cmdline has %d NUL-terminated strings, first \"%s\"\n", args, cmd);
        fflush(stdout);
        return finish() == 0 ? 5 : 6;
    }
    if (argc >= 2 && strcmp(argv[1], "final") == 0) {
        printf("final stage: argc=%d argv[2]=%s\n", argc, argc > 2 ? argv[2] : "-");
        return finish();
    }

    default_signals();
    int st;
    char *args1[] = {"first", "show", "two words", "", "-x", NULL};
    char *env1[] = {"A=1", "EMPTY=", "NOEQUALS", "A=2", NULL};
    printf("exec with argv and envp:\n");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execve("/proc/self/exe", args1, env1);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));

    printf("exec with a NULL envp:\n");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char *a[] = {"second", "show", NULL};
        execve("/proc/self/exe", a, NULL);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));

    printf("exec with a NULL argv:\n");
    fflush(stdout);
    c = fork();
    if (c == 0) {
        syscall(SYS_execve, "/proc/self/exe", NULL, NULL);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));

    printf("what exec keeps:\n");
    char cwd[PATH_MAX], exe[PATH_MAX] = {0};
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    fflush(stdout);
    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        char s_pid[16], s_ppid[16], s_pgid[16];
        snprintf(s_pid, sizeof s_pid, "%d", getpid());
        snprintf(s_ppid, sizeof s_ppid, "%d", parent);
        snprintf(s_pgid, sizeof s_pgid, "%d", getpgrp());
        umask(027);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = 77;
        setrlimit(RLIMIT_NOFILE, &rl);
        char *a[] = {"keeper", "keep", s_pid, s_ppid, cwd, s_pgid, exe, NULL};
        execve("/proc/self/exe", a, environ);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("status=%d\n", WEXITSTATUS(st));

    /* The main process execs itself; its output so far must be flushed first. */
    char *fin[] = {argv[0], "final", "bye", NULL};
    fflush(stdout);
    execve("/proc/self/exe", fin, environ);
    printf("exec failed: %s\n", errname(errno));
    return 1;
}
