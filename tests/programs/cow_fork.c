/* Copy-on-write after fork: a 64 MiB private heap area is filled, then the
 * child rewrites every page while the parent's copy stays intact, and the
 * parent rewrites its copy while the child's stays intact (the two take turns
 * through pipes); a MAP_SHARED anonymous area is shared instead; a private
 * file mapping keeps the parent's pre-fork private change in the child and the
 * child's changes stay private; MADV_WIPEONFORK areas are zero in the child and
 * MADV_DONTFORK areas are absent (touching them is SIGSEGV). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define SIZE (64UL << 20)
#define PAGE 4096UL

static int check_pattern(const unsigned char *m, unsigned char salt) {
    for (size_t i = 0; i < SIZE; i += PAGE)
        if (m[i] != (unsigned char)((i / PAGE) ^ salt) || m[i + PAGE - 1] != salt)
            return 0;
    return 1;
}
static void fill(unsigned char *m, unsigned char salt) {
    for (size_t i = 0; i < SIZE; i += PAGE) {
        m[i] = (unsigned char)((i / PAGE) ^ salt);
        m[i + PAGE - 1] = salt;
    }
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
    unsigned char *heap = malloc(SIZE);
    CHECK(heap != NULL);
    fill(heap, 0x11);
    unsigned char *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    shared[0] = 1;
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    char b;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        int ok1 = check_pattern(heap, 0x11);
        fill(heap, 0x22);
        int ok2 = check_pattern(heap, 0x22);
        shared[0] = 2;
        if (write(to_parent[1], "1", 1) != 1)
            _exit(9);
        if (read(to_child[0], &b, 1) != 1) /* the parent has rewritten its copy */
            _exit(9);
        int ok3 = check_pattern(heap, 0x22);
        int ok4 = shared[0] == 3;
        _exit((ok1 ? 0 : 1) | (ok2 ? 0 : 2) | (ok3 ? 0 : 4) | (ok4 ? 0 : 8));
    }
    CHECK(read(to_parent[0], &b, 1) == 1);
    printf("parent's copy intact after the child rewrote 64 MiB: %s\n", check_pattern(heap, 0x11) ? "yes" : "no");
    printf("shared page shows the child's store: %s\n", shared[0] == 2 ? "yes" : "no");
    fill(heap, 0x33);
    shared[0] = 3;
    CHECK(write(to_child[1], "2", 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child status %d (0: saw the pre-fork data, its own writes, kept them, saw our shared store)\n",
           WEXITSTATUS(st));
    printf("parent's new data intact: %s\n", check_pattern(heap, 0x33) ? "yes" : "no");
    free(heap);

    /* Private file mapping. */
    int fd = open("cowfile", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "original", 8) == 8);
    char *fm = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(fm != MAP_FAILED);
    memcpy(fm, "parent", 6);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int ok = memcmp(fm, "parental", 8) == 0;
        memcpy(fm, "child!", 6);
        _exit(ok ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("private file mapping: child saw the parent's private change: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    printf("private file mapping: parent still sees \"%.8s\"\n", fm);
    char fb[9] = {0};
    CHECK(pread(fd, fb, 8, 0) == 8);
    printf("file still holds \"%s\"\n", fb);

    /* MADV_WIPEONFORK and MADV_DONTFORK. */
    unsigned char *wipe = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *nofork = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(wipe, 0x5a, 4 * PAGE);
    memset(nofork, 0x5a, 4 * PAGE);
    CHECK(madvise(wipe, 4 * PAGE, MADV_WIPEONFORK) == 0);
    CHECK(madvise(nofork, 4 * PAGE, MADV_DONTFORK) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int zero = 1;
        for (size_t i = 0; i < 4 * PAGE; i++)
            if (wipe[i])
                zero = 0;
        if (!zero)
            _exit(1);
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        volatile unsigned char x = nofork[0]; /* SIGSEGV */
        (void)x;
        _exit(2);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("child: wiped area was zero, then touching the DONTFORK area: %s\n",
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : WEXITSTATUS(st) == 1 ? "wipe area not zero" : "no fault");
    printf("parent keeps both areas: %s\n", wipe[0] == 0x5a && nofork[0] == 0x5a ? "yes" : "no");
    return finish();
}
