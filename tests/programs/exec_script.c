/* #! scripts whose interpreter is this program's own binary (its path is read
 * from /proc/self/exe, so no shell is needed): the interpreter gets argv
 * [interpreter, optional-arg, script-path, original args after argv[0]],
 * the optional argument is one string even with spaces, a script whose
 * interpreter is missing fails with ENOENT, a script naming a script as its
 * interpreter (nested) works one level deep, "#!" with nothing after it is
 * ENOEXEC, and exec of a script through a close-on-exec descriptor fails
 * with ENOENT while a plain descriptor works (/dev/fd/N path). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char exe[PATH_MAX];

static void make(const char *name, const char *text) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static void run(const char *what, const char *path, char **argv) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char *env[] = {NULL};
        execve(path, argv, env);
        printf("  %s: exec failed: %s\n", what, errname(errno));
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
    if (argc > 1 && readlink("/proc/self/exe", exe, sizeof exe - 1) > 0 && strcmp(argv[0], exe) == 0) {
        /* Started as an interpreter: argv[0] is the interpreter path. */
        printf("  interpreter: argc=%d argv[0]=<exe>", argc);
        for (int i = 1; i < argc; i++)
            printf(" argv[%d]=\"%s\"", i, argv[i]);
        printf("\n");
        fflush(stdout);
        return 9;
    }
    default_signals();
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0);
    char text[PATH_MAX + 64];
    snprintf(text, sizeof text, "#!%s\nbody is ignored\n", exe);
    make("noarg.sh", text);
    snprintf(text, sizeof text, "#! %s   one arg with spaces  \n", exe);
    make("witharg.sh", text);
    make("missing.sh", "#!/no/such/interpreter\n");
    make("nested.sh", "#!./noarg.sh nestarg\n");
    make("bare.sh", "#!\n");
    make("spaces.sh", "#!   \n");

    char *a1[] = {"name-ignored", "first", "second", NULL};
    run("no optional arg", "noarg.sh", a1);
    run("optional arg with spaces", "./witharg.sh", a1);
    char *a0[] = {"only-argv0", NULL};
    run("no extra args", "noarg.sh", a0);
    run("missing interpreter", "missing.sh", a1);
    run("nested script", "nested.sh", a1);
    run("#! alone", "bare.sh", a1);
    run("#! and spaces", "spaces.sh", a1);

    char *env[] = {NULL};
    EXPECT_ERRNO(execve("missing.sh", a1, env), ENOENT);
    EXPECT_ERRNO(execve("bare.sh", a1, env), ENOEXEC);

    int fd = open("noarg.sh", O_RDONLY);
    int cfd = open("noarg.sh", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && cfd >= 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        syscall(SYS_execveat, fd, "", a1, env, AT_EMPTY_PATH);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    printf("script through a descriptor: status=%d\n", WEXITSTATUS(st));
    EXPECT_ERRNO(syscall(SYS_execveat, cfd, "", a1, env, AT_EMPTY_PATH), ENOENT);
    return finish();
}
