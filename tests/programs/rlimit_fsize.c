/* RLIMIT_FSIZE (1000 bytes), in children: with SIGXFSZ ignored, a write that
 * crosses the limit is cut short, a write at the limit fails with EFBIG, as do
 * pwrite past it, ftruncate and fallocate past it, while rewriting inside the
 * limit and writing to a pipe are fine; with a handler, SIGXFSZ is delivered
 * and the write fails with EFBIG; with the default action the writer dies of
 * SIGXFSZ (no core flag with RLIMIT_CORE 0). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char buf[4096];
static volatile int xfsz_hits;
static void on_xfsz(int sig) {
    (void)sig;
    xfsz_hits++;
}

static void limit(void) {
    struct rlimit rl = {1000, 1000};
    setrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
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
    memset(buf, 'x', sizeof buf);
    int st;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGXFSZ, SIG_IGN);
        limit();
        int fd = open("f1", O_RDWR | O_CREAT | O_TRUNC, 0644);
        printf("write 1500 at 0 returns %zd\n", write(fd, buf, 1500));
        EXPECT_ERRNO(write(fd, buf, 10), EFBIG);
        EXPECT_ERRNO(pwrite(fd, buf, 10, 1000), EFBIG);
        EXPECT_ERRNO(pwrite(fd, buf, 10, 5000), EFBIG);
        printf("pwrite 10 at 995 returns %zd\n", pwrite(fd, buf, 10, 995));
        CHECK(pwrite(fd, "abc", 3, 10) == 3);
        EXPECT_ERRNO(ftruncate(fd, 2000), EFBIG);
        CHECK(ftruncate(fd, 500) == 0);
        CHECK(ftruncate(fd, 1000) == 0);
        EXPECT_ERRNO(fallocate(fd, 0, 0, 4096), EFBIG);
        int afd = open("f1", O_WRONLY | O_APPEND);
        EXPECT_ERRNO(write(afd, "y", 1), EFBIG);
        struct stat sb;
        CHECK(fstat(fd, &sb) == 0);
        printf("file size stays %ld\n", (long)sb.st_size);
        int p[2];
        CHECK(pipe(p) == 0);
        printf("pipe write of 2000 bytes: %zd\n", write(p[1], buf, 2000));
        fflush(stdout);
        _exit(failures);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_xfsz;
        sigaction(SIGXFSZ, &sa, NULL);
        limit();
        int fd = open("f2", O_RDWR | O_CREAT | O_TRUNC, 0644);
        CHECK(write(fd, buf, 1000) == 1000);
        EXPECT_ERRNO(write(fd, buf, 1), EFBIG);
        printf("SIGXFSZ handler ran %d time(s)\n", xfsz_hits);
        CHECK(write(fd, buf, 1500) == -1);
        printf("SIGXFSZ handler ran %d time(s)\n", xfsz_hits);
        fflush(stdout);
        _exit(failures);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    fflush(stdout);
    c = fork();
    if (c == 0) {
        limit();
        int fd = open("f3", O_RDWR | O_CREAT | O_TRUNC, 0644);
        ssize_t n = write(fd, buf, 1500); /* partial, no signal yet */
        if (n != 1000)
            _exit(3);
        n = write(fd, buf, 10); /* dies here */
        _exit(4);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("default action: WIFSIGNALED=%d sig=SIG%s core=%d\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-", WCOREDUMP(st) ? 1 : 0);
    struct stat sb;
    CHECK(stat("f3", &sb) == 0);
    printf("the killed writer's file has %ld bytes\n", (long)sb.st_size);
    return finish();
}
