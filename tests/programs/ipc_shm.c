/* System V shared memory: a segment attached before fork is shared with the child;
 * shm_nattch counts attachments (fork adds one, exit and shmdt take it away);
 * IPC_RMID of an attached segment is deferred until the last detach (SHM_DEST, key
 * gone, still attachable by id); keys, SHM_RDONLY, attaching at an address with
 * SHM_RND and SHM_REMAP, IPC_SET, and errors. */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

static int stat_of(int id, struct shmid_ds *ds) {
    memset(ds, 0, sizeof *ds);
    return shmctl(id, IPC_STAT, ds);
}

static int maps_mention(const char *what) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, what))
            found = 1;
    if (f)
        fclose(f);
    return found;
}

int main(void) {
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct shmid_ds ds;
    CHECK(stat_of(id, &ds) == 0);
    CHECK(ds.shm_segsz == 10000 && ds.shm_nattch == 0);
    CHECK(ds.shm_cpid == getpid() && ds.shm_lpid == 0);
    CHECK((ds.shm_perm.mode & 0777) == 0600 && ds.shm_perm.__key == IPC_PRIVATE);
    CHECK(ds.shm_perm.uid == getuid() && ds.shm_perm.cuid == getuid());
    CHECK(ds.shm_atime == 0 && ds.shm_dtime == 0 && ds.shm_ctime != 0);

    char *p = shmat(id, NULL, 0);
    CHECK(p != (char *)-1);
    CHECK(p[0] == 0 && p[9999] == 0);
    strcpy(p, "parent");
    CHECK(stat_of(id, &ds) == 0);
    CHECK(ds.shm_nattch == 1 && ds.shm_lpid == getpid() && ds.shm_atime != 0);
    printf("maps show the segment: %s\n", maps_mention("/SYSV00000000 (deleted)") ? "yes" : "no");

    /* Shared across fork, both ways; the child's attachment counts until it exits. */
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        struct shmid_ds cds;
        int ok = strcmp(p, "parent") == 0 && stat_of(id, &cds) == 0 && cds.shm_nattch == 2;
        strcpy(p + 100, "child");
        if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(3);
        ok = ok && strcmp(p + 200, "again") == 0;
        _exit(ok ? 0 : 1);
    }
    char c = 0;
    CHECK(read(to_parent[0], &c, 1) == 1);
    CHECK(strcmp(p + 100, "child") == 0);
    strcpy(p + 200, "again");
    CHECK(stat_of(id, &ds) == 0 && ds.shm_nattch == 2);
    CHECK(write(to_child[1], &c, 1) == 1);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(stat_of(id, &ds) == 0 && ds.shm_nattch == 1);

    /* IPC_RMID while attached: deferred. */
    CHECK(shmctl(id, IPC_RMID, NULL) == 0);
    CHECK(stat_of(id, &ds) == 0);
    CHECK((ds.shm_perm.mode & SHM_DEST) != 0 && ds.shm_nattch == 1);
    CHECK(strcmp(p + 100, "child") == 0);
    char *q = shmat(id, NULL, SHM_RDONLY);
    CHECK(q != (char *)-1 && q != p);
    CHECK(q != (char *)-1 && strcmp(q, "parent") == 0);
    CHECK(stat_of(id, &ds) == 0 && ds.shm_nattch == 2);
    CHECK(shmdt(p) == 0);
    CHECK(stat_of(id, &ds) == 0 && ds.shm_nattch == 1);
    CHECK(shmdt(q) == 0);
    EXPECT_ERRNO(stat_of(id, &ds), EINVAL);
    EXPECT_ERRNO(shmat(id, NULL, 0), EINVAL);

    /* Keys. */
    key_t key = 0x5a000000 | (getpid() & 0xffff);
    int kid = shmget(key, 8192, IPC_CREAT | 0640);
    CHECK(kid >= 0);
    CHECK(shmget(key, 8192, 0) == kid);
    CHECK(shmget(key, 100, 0) == kid);
    CHECK(shmget(key, 0, 0) == kid);
    EXPECT_ERRNO(shmget(key, 8193, 0), EINVAL);
    EXPECT_ERRNO(shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_ERRNO(shmget(key + 1, 4096, 0600), ENOENT);
    EXPECT_ERRNO(shmget(key + 1, 0, IPC_CREAT | 0600), EINVAL);
    EXPECT_ERRNO(shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    CHECK(stat_of(kid, &ds) == 0 && ds.shm_perm.__key == key && (ds.shm_perm.mode & 0777) == 0640);
    /* IPC_SET changes the mode bits only. */
    ds.shm_perm.mode = 0604 | 0100000;
    CHECK(shmctl(kid, IPC_SET, &ds) == 0);
    CHECK(stat_of(kid, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0604 && ds.shm_perm.mode < 01000);

    /* SHM_RDONLY: a store is a SIGSEGV. */
    char *ro = shmat(kid, NULL, SHM_RDONLY);
    CHECK(ro != (char *)-1);
    pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ro[0] = 1;
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    CHECK(shmdt(ro) == 0);

    /* At an address: page-aligned, or rounded down with SHM_RND. */
    char *area = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    CHECK(munmap(area, 4 * 4096) == 0);
    CHECK(shmat(kid, area, 0) == area);
    EXPECT_ERRNO(shmat(kid, area + 1, 0), EINVAL);
    /* Overlapping an existing mapping needs SHM_REMAP. */
    EXPECT_ERRNO(shmat(kid, area, 0), EINVAL);
    CHECK(shmat(kid, area + 1, SHM_RND | SHM_REMAP) == area);
    CHECK(stat_of(kid, &ds) == 0 && ds.shm_nattch == 1);
    EXPECT_ERRNO(shmat(kid, NULL, SHM_REMAP), EINVAL);
    CHECK(shmdt(area) == 0);
    EXPECT_ERRNO(shmdt(area), EINVAL);
    EXPECT_ERRNO(shmdt(area + 1), EINVAL);
    CHECK(stat_of(kid, &ds) == 0 && ds.shm_nattch == 0 && ds.shm_lpid == getpid() && ds.shm_dtime != 0);

    /* An unattached segment goes at once; its key with it. */
    CHECK(shmctl(kid, IPC_RMID, NULL) == 0);
    EXPECT_ERRNO(shmget(key, 0, 0), ENOENT);
    EXPECT_ERRNO(shmctl(kid, IPC_RMID, NULL), EINVAL);

    /* Errors. */
    EXPECT_ERRNO(shmctl(-1, IPC_STAT, &ds), EINVAL);
    EXPECT_ERRNO(shmctl(0x7fff0000, IPC_STAT, &ds), EINVAL);
    int e = shmget(IPC_PRIVATE, 4096, 0600);
    CHECK(e >= 0);
    EXPECT_ERRNO(shmctl(e, 99, &ds), EINVAL);
    EXPECT_ERRNO(shmctl(e, IPC_STAT | 0x100, &ds), EINVAL);
    EXPECT_ERRNO(shmctl(e, IPC_STAT, (void *)8), EFAULT);
    EXPECT_ERRNO(shmctl(e, IPC_SET, (void *)8), EFAULT);
    CHECK(shmctl(e, IPC_RMID, NULL) == 0);
    return finish();
}
