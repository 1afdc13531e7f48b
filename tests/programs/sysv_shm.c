/* SysV shared memory: shmget (IPC_PRIVATE and a key: EEXIST with IPC_EXCL,
 * the same id without IPC_CREAT, EINVAL for a larger size, ENOENT for a
 * missing key, EINVAL for size 0), IPC_STAT fields (size, mode, nattch,
 * cpid/lpid relations), shmat/shmdt, sharing across fork (the child inherits
 * the attachment: nattch 2, and stores are seen both ways), SHM_RDONLY
 * (a store kills the child with SIGSEGV), SHM_RND, IPC_RMID while attached
 * (still usable, SHM_DEST set, key gone, segment gone after the last detach),
 * and shmdt of an address that is not attached (EINVAL). The key is derived
 * from the pid so concurrent native runs do not collide. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/shm.h>
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
    size_t size = (1 << 20) + 1;
    int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("IPC_STAT: segsz=%zu mode=%03o nattch=%lu cpid is us=%s uid=%u\n", (size_t)ds.shm_segsz,
           ds.shm_perm.mode & 0777, (unsigned long)ds.shm_nattch, ds.shm_cpid == getpid() ? "yes" : "no",
           ds.shm_perm.uid);
    char *m = shmat(id, NULL, 0);
    CHECK(m != (void *)-1);
    printf("attached at a page boundary: %s\n", ((uintptr_t)m & 4095) == 0 ? "yes" : "no");
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("after shmat: nattch=%lu lpid is us=%s\n", (unsigned long)ds.shm_nattch, ds.shm_lpid == getpid() ? "yes" : "no");
    printf("new segment is zeroed: %s\n", m[0] == 0 && m[size - 1] == 0 ? "yes" : "no");
    strcpy(m, "from parent");
    m[size - 1] = 'P';

    int go[2], back[2];
    CHECK(pipe(go) == 0 && pipe(back) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct shmid_ds cds;
        shmctl(id, IPC_STAT, &cds);
        int ok = strcmp(m, "from parent") == 0 && m[size - 1] == 'P' && cds.shm_nattch == 2;
        strcpy(m + 100, "from child");
        char b = ok ? 'y' : 'n';
        if (write(back[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(2);
        shmdt(m);
        _exit(ok ? 0 : 1);
    }
    char b;
    CHECK(read(back[0], &b, 1) == 1);
    printf("child saw our data and nattch 2: %c\n", b);
    printf("we see the child's store: %s\n", strcmp(m + 100, "from child") == 0 ? "yes" : "no");
    CHECK(write(go[1], "g", 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("after the child detached and exited: nattch=%lu lpid is the child=%s\n", (unsigned long)ds.shm_nattch,
           ds.shm_lpid == c ? "yes" : "no");

    /* Read-only attachment. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        char *ro = shmat(id, NULL, SHM_RDONLY);
        if (ro == (void *)-1 || strcmp(ro, "from parent") != 0)
            _exit(1);
        ro[0] = 'x';
        _exit(2);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("store through SHM_RDONLY: %s\n", WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "no fault");

    /* SHM_RND and a misaligned address. */
    char *probe = shmat(id, NULL, 0);
    CHECK(probe != (void *)-1);
    CHECK(shmdt(probe) == 0);
    char *rnd = shmat(id, probe + 123, SHM_RND);
    printf("SHM_RND rounds the address down: %s\n", rnd == probe ? "yes" : "no");
    if (rnd != (void *)-1)
        shmdt(rnd);
    EXPECT_ERRNO(shmat(id, probe + 123, 0), EINVAL);
    EXPECT_ERRNO(shmdt(probe + 4096), EINVAL);

    /* IPC_RMID while attached. */
    CHECK(shmctl(id, IPC_RMID, NULL) == 0);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("after IPC_RMID: SHM_DEST set=%s, key IPC_PRIVATE=%s, still usable=%s\n",
           (ds.shm_perm.mode & SHM_DEST) ? "yes" : "no", ds.shm_perm.__key == IPC_PRIVATE ? "yes" : "no",
           strcmp(m, "from parent") == 0 ? "yes" : "no");
    char *again = shmat(id, NULL, 0);
    printf("shmat of a removed but attached segment: %s\n", again != (void *)-1 ? "allowed" : errname(errno));
    if (again != (void *)-1)
        shmdt(again);
    CHECK(shmdt(m) == 0);
    EXPECT_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL);
    EXPECT_ERRNO(shmat(id, NULL, 0), EINVAL);

    /* Keys. */
    key_t key = (key_t)(0x5e000000 | (getpid() & 0xffffff));
    int kid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640);
    if (kid < 0 && errno == EEXIST) { /* left over from a crashed run */
        shmctl(shmget(key, 0, 0), IPC_RMID, NULL);
        kid = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640);
    }
    CHECK(kid >= 0);
    EXPECT_ERRNO(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640), EEXIST);
    printf("same key without IPC_CREAT gives the same id: %s\n", shmget(key, 0, 0) == kid ? "yes" : "no");
    EXPECT_ERRNO(shmget(key, 8192, 0), EINVAL);
    CHECK(shmctl(kid, IPC_STAT, &ds) == 0);
    printf("keyed segment: mode=%03o key matches=%s\n", ds.shm_perm.mode & 0777, ds.shm_perm.__key == key ? "yes" : "no");
    CHECK(shmctl(kid, IPC_RMID, NULL) == 0);
    EXPECT_ERRNO(shmget(key, 4096, 0), ENOENT);
    EXPECT_ERRNO(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
    EXPECT_ERRNO(shmctl(id, 12345, &ds), EINVAL);
    return finish();
}
