/* vmsplice: user memory from several iovecs into a pipe's write end (read back
 * in order), with SPLICE_F_GIFT too; from a pipe's read end into user memory
 * (the pipe is drained); a full pipe with SPLICE_F_NONBLOCK is EAGAIN; a child
 * vmsplices into a pipe its parent reads; zero segments return 0; errors: a
 * regular file (EBADF), unknown flags or too many segments (EINVAL). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <sys/wait.h>

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
    int p[2];
    CHECK(pipe(p) == 0);
    char a[] = "hello ", b[] = "vmsplice ", c[] = "world";
    struct iovec iov[3] = {{a, 6}, {b, 9}, {c, 5}};
    printf("vmsplice of 3 iovecs into the pipe: %zd\n", vmsplice(p[1], iov, 3, 0));
    char buf[64] = {0};
    CHECK(read(p[0], buf, sizeof buf) == 20);
    printf("read back: \"%s\"\n", buf);

    static char page[4096] __attribute__((aligned(4096)));
    memset(page, 'g', sizeof page);
    struct iovec gift = {page, sizeof page};
    printf("vmsplice with SPLICE_F_GIFT: %zd\n", vmsplice(p[1], &gift, 1, SPLICE_F_GIFT));
    static char out[8192];
    CHECK(read(p[0], out, sizeof out) == 4096);
    printf("gifted page read back intact: %s\n", out[0] == 'g' && out[4095] == 'g' ? "yes" : "no");

    CHECK(write(p[1], "to user memory", 14) == 14);
    char dst1[5] = {0}, dst2[32] = {0};
    struct iovec rv[2] = {{dst1, 4}, {dst2, sizeof dst2 - 1}};
    printf("vmsplice from the read end: %zd\n", vmsplice(p[0], rv, 2, 0));
    printf("into two buffers: \"%s\" + \"%s\"\n", dst1, dst2);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    EXPECT_ERRNO(read(p[0], buf, 1), EAGAIN);
    fcntl(p[0], F_SETFL, 0);

    /* Full pipe. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    while (write(p[1], big, sizeof big) > 0)
        ;
    struct iovec one = {a, 6};
    EXPECT_ERRNO(vmsplice(p[1], &one, 1, SPLICE_F_NONBLOCK), EAGAIN);
    close(p[0]);
    close(p[1]);

    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        close(p[0]);
        char msg[] = "from the child";
        struct iovec v = {msg, sizeof msg - 1};
        _exit(vmsplice(p[1], &v, 1, 0) == (ssize_t)sizeof msg - 1 ? 0 : 1);
    }
    close(p[1]);
    memset(buf, 0, sizeof buf);
    ssize_t n = 0, r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += r;
    int st;
    CHECK(waitpid(k, &st, 0) == k && WEXITSTATUS(st) == 0);
    printf("parent read \"%s\"\n", buf);
    close(p[0]);

    CHECK(pipe(p) == 0);
    printf("zero segments: %zd\n", vmsplice(p[1], iov, 0, 0));
    int f = open("plain", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_ERRNO(vmsplice(f, iov, 1, 0), EBADF);
    EXPECT_ERRNO(vmsplice(p[1], iov, 1, 0x100), EINVAL);
    EXPECT_ERRNO(vmsplice(p[1], iov, IOV_MAX + 1, 0), EINVAL);
    EXPECT_ERRNO(vmsplice(999, iov, 1, 0), EBADF);
    return finish();
}
