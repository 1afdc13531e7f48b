/* clone() with a separate stack and various sharing flags: CLONE_VM shares
 * memory (or not), CLONE_FILES shares the descriptor table, CLONE_FS shares the
 * working directory and umask, CLONE_PARENT makes the new process a sibling,
 * CLONE_PARENT_SETTID/CLONE_CHILD_SETTID store the new tid, and the flag
 * combinations Linux refuses (CLONE_SIGHAND without CLONE_VM, CLONE_THREAD
 * without CLONE_SIGHAND, CLONE_FS with CLONE_NEWNS) fail with EINVAL. Children
 * only store into memory; the parent prints after waiting. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char stack[1 << 16] __attribute__((aligned(16)));
#define STACK_TOP (stack + sizeof stack)
static volatile int value;
static int fd_to_close = -1;
static volatile pid_t child_saw_tid, child_saw_ppid;
static pid_t ptid, ctid;

static int set_value(void *arg) {
    value = (int)(long)arg;
    return 0;
}
static int close_fd(void *arg) {
    (void)arg;
    return close(fd_to_close) == 0 ? 0 : 1;
}
static int change_dir(void *arg) {
    (void)arg;
    umask(0077);
    return chdir("sub") == 0 ? 0 : 1;
}
static int record_ids(void *arg) {
    (void)arg;
    child_saw_tid = (pid_t)syscall(SYS_gettid);
    return 0;
}

static int wait_one(pid_t c) {
    int st = 0;
    if (waitpid(c, &st, 0) != c)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
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
    /* Without CLONE_VM the child's store stays in its copy. */
    value = 1;
    pid_t c = clone(set_value, STACK_TOP, SIGCHLD, (void *)2L);
    CHECK(c > 0);
    int cs = wait_one(c);
    printf("no CLONE_VM: child status %d, parent value %d\n", cs, value);
    c = clone(set_value, STACK_TOP, CLONE_VM | SIGCHLD, (void *)3L);
    CHECK(c > 0);
    cs = wait_one(c);
    printf("CLONE_VM: child status %d, parent value %d\n", cs, value);

    /* CLONE_FILES: the child's close is the parent's close. */
    fd_to_close = open("/proc/self/stat", O_RDONLY);
    CHECK(fd_to_close >= 0);
    c = clone(close_fd, STACK_TOP, CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    printf("CLONE_FILES: child status %d\n", wait_one(c));
    EXPECT_ERRNO(fcntl(fd_to_close, F_GETFD), EBADF);
    fd_to_close = open("/proc/self/stat", O_RDONLY);
    c = clone(close_fd, STACK_TOP, CLONE_VM | SIGCHLD, NULL);
    printf("no CLONE_FILES: child status %d\n", wait_one(c));
    CHECK(fcntl(fd_to_close, F_GETFD) == 0);
    close(fd_to_close);

    /* CLONE_FS: cwd and umask are shared. */
    CHECK(mkdir("sub", 0755) == 0);
    char before[4096], after[4096];
    CHECK(getcwd(before, sizeof before) != NULL);
    mode_t old = umask(022);
    c = clone(change_dir, STACK_TOP, CLONE_VM | SIGCHLD, NULL);
    printf("no CLONE_FS: child status %d\n", wait_one(c));
    CHECK(getcwd(after, sizeof after) != NULL && strcmp(before, after) == 0);
    CHECK(umask(022) == 022);
    c = clone(change_dir, STACK_TOP, CLONE_VM | CLONE_FS | SIGCHLD, NULL);
    printf("CLONE_FS: child status %d\n", wait_one(c));
    CHECK(getcwd(after, sizeof after) != NULL);
    printf("cwd moved into sub: %s\n",
           strlen(after) == strlen(before) + 4 && strcmp(after + strlen(before), "/sub") == 0 ? "yes" : "no");
    printf("umask after CLONE_FS child: %03o\n", (unsigned)umask(old));
    CHECK(chdir("..") == 0);

    /* CLONE_PARENT_SETTID / CLONE_CHILD_SETTID. */
    ptid = ctid = 0;
    c = clone(record_ids, STACK_TOP, CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | SIGCHLD, NULL,
              &ptid, NULL, &ctid);
    CHECK(c > 0);
    CHECK(wait_one(c) == 0);
    printf("parent_tid == child pid: %s\n", ptid == c ? "yes" : "no");
    printf("child_tid == child pid: %s\n", ctid == c ? "yes" : "no");
    printf("child's gettid == child pid: %s\n", child_saw_tid == c ? "yes" : "no");

    /* CLONE_PARENT: a child clones a sibling, whom we (the grandparent) reap. */
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t s = clone(set_value, STACK_TOP, CLONE_PARENT | SIGCHLD, (void *)9L);
        int st;
        int mine = s > 0 && waitpid(s, &st, 0) == -1 && errno == ECHILD;
        _exit(mine ? 0 : 1);
    }
    int st;
    CHECK(waitpid(mid, &st, 0) == mid);
    printf("CLONE_PARENT: middle child could not wait for its sibling: %s\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    int reaped = 0;
    while (waitpid(-1, &st, 0) > 0)
        reaped++;
    printf("CLONE_PARENT: sibling reaped by us: %d\n", reaped);

    /* Refused combinations. */
    EXPECT_ERRNO(clone(set_value, STACK_TOP, CLONE_SIGHAND | SIGCHLD, NULL), EINVAL);
    EXPECT_ERRNO(clone(set_value, STACK_TOP, CLONE_VM | CLONE_THREAD | SIGCHLD, NULL), EINVAL);
    EXPECT_ERRNO(clone(set_value, STACK_TOP, CLONE_FS | CLONE_NEWNS | SIGCHLD, NULL), EINVAL);
    return finish();
}
