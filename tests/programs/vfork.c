/* vfork: the parent is suspended until the child exits or execs, and the child
 * runs in the parent's memory (a store made by the child before _exit is seen by
 * the parent). A vforked child that execs /proc/self/exe ("exec-child" mode)
 * releases the parent at the exec; the new image's exit status is collected.
 * Also clone(CLONE_VM|CLONE_VFORK) through the raw syscall-free glibc wrapper. */
#include "common.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static volatile int shared_flag;
static volatile int order[4];
static volatile int order_n;

static char clone_stack[65536] __attribute__((aligned(16)));
static int clone_fn(void *arg) {
    (void)arg;
    shared_flag = 77;
    order[order_n++] = 1;
    return 5;
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
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec'd child running with argv[2]=%s\n", argc > 2 ? argv[2] : "(none)");
        fflush(stdout);
        return 9;
    }
    default_signals();
    fflush(stdout);
    pid_t me = getpid();
    pid_t c = vfork();
    if (c == 0) {
        /* Only plain stores and _exit are allowed here. */
        shared_flag = (getppid() == me) ? 42 : 41;
        order[order_n++] = 1;
        _exit(3);
    }
    order[order_n++] = 2;
    printf("vfork child ran first: %s\n", order[0] == 1 && order[1] == 2 ? "yes" : "no");
    printf("parent sees the child's store: %d\n", shared_flag);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("vfork child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* vfork + execve: the parent continues once the child has exec'd. */
    fflush(stdout);
    shared_flag = 0;
    c = vfork();
    if (c == 0) {
        char *args[] = {argv[0], "exec-child", "hello", NULL};
        char *env[] = {"A=1", NULL};
        shared_flag = 1;
        execve("/proc/self/exe", args, env);
        _exit(127);
    }
    printf("child reached exec before the parent resumed: %s\n", shared_flag == 1 ? "yes" : "no");
    CHECK(waitpid(c, &st, 0) == c);
    printf("exec'd child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* vfork child whose exec fails: it reports through _exit. */
    fflush(stdout);
    c = vfork();
    if (c == 0) {
        char *args[] = {"nope", NULL};
        execve("/nonexistent/program", args, NULL);
        _exit(errno == ENOENT ? 20 : 21);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("failed exec in vfork child: status=%d\n", WEXITSTATUS(st));

    /* clone(CLONE_VM | CLONE_VFORK | SIGCHLD): same semantics through clone. */
    shared_flag = 0;
    order_n = 0;
    c = clone(clone_fn, clone_stack + sizeof clone_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    CHECK(c > 0);
    order[order_n++] = 2;
    printf("clone VFORK child ran first: %s\n", order[0] == 1 && order[1] == 2 ? "yes" : "no");
    printf("clone VFORK child's store: %d\n", shared_flag);
    CHECK(waitpid(c, &st, 0) == c);
    printf("clone VFORK child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}
