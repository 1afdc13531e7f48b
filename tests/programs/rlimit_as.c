/* RLIMIT_AS at 512 MiB, in a child: 200 MiB mappings succeed until the total
 * would pass the limit (then ENOMEM), PROT_NONE mappings count too, munmap
 * gives the room back, mremap growth past the limit is ENOMEM, malloc of
 * 1 GiB returns NULL with ENOMEM, brk cannot grow by 1 GiB; lowering the limit
 * below current use succeeds and only new mappings fail. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define MiB (1UL << 20)

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
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit rl = {512 * MiB, 512 * MiB};
        CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
        void *a = mmap(NULL, 200 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *b = mmap(NULL, 200 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(a != MAP_FAILED && b != MAP_FAILED);
        EXPECT_ERRNO(mmap(NULL, 200 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), ENOMEM);
        EXPECT_ERRNO(mmap(NULL, 1024 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
        CHECK(munmap(b, 200 * MiB) == 0);
        void *d = mmap(NULL, 200 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("after munmap another 200 MiB fits: %s\n", d != MAP_FAILED ? "yes" : "no");
        if (d != MAP_FAILED)
            munmap(d, 200 * MiB);
        EXPECT_ERRNO(mremap(a, 200 * MiB, 700 * MiB, MREMAP_MAYMOVE), ENOMEM);
        void *grown = mremap(a, 200 * MiB, 300 * MiB, MREMAP_MAYMOVE);
        printf("mremap to 300 MiB within the limit: %s\n", grown != MAP_FAILED ? "yes" : "no");
        if (grown != MAP_FAILED)
            a = grown;
        errno = 0;
        void *m = malloc(1024 * MiB);
        printf("malloc(1 GiB): %s errno %s\n", m ? "non-NULL" : "NULL", errname(errno));
        void *old = sbrk(0);
        errno = 0;
        void *r = sbrk(1024 * MiB);
        printf("sbrk(1 GiB): %s errno %s; break unchanged: %s\n", r == (void *)-1 ? "failed" : "succeeded",
               errname(errno), sbrk(0) == old ? "yes" : "no");
        /* Lower the limit below what is mapped now. */
        rl.rlim_cur = 64 * MiB;
        CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
        memset(a, 1, 4096);
        printf("existing mapping still usable: yes\n");
        EXPECT_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
        fflush(stdout);
        _exit(failures);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}
