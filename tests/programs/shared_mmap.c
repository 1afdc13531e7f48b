/* Shared file mappings: stores reach the file and every other mapping at once, file
 * writes show in the mappings, truncation and growth, msync's checks, the access-mode
 * rules (EACCES), memfd seals (EPERM), unlinked files staying mapped. With the argument
 * "sigbus", touches a shared page past the end of the file and dies of SIGBUS. Works in a
 * scratch dir under /tmp, or under the directory given as the argument (a host directory
 * served by the gofer, where the pages are the gofer file's page cache). */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PAGE 4096

static int sigbus(void) {
    char dir[] = "/tmp/sb-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, PAGE) == 0);
    char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    p[100] = 1;
    CHECK(p[100] == 1);
    /* Clean up first: the process dies below. */
    CHECK(unlink("f") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    say_and_flush("touching the page past the end");
    p[2 * PAGE] = 1;
    say_and_flush("still alive (wrong)");
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "sigbus") == 0)
        return sigbus();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sm-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    enum { N = 3 * PAGE };
    static char buf[N];
    for (int i = 0; i < N; i++)
        buf[i] = (char)(i * 13 + 1);
    CHECK(write(fd, buf, N) == N);

    /* Two shared mappings of one file and the file itself stay coherent. */
    char *a = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *b = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED && a != b);
    CHECK(memcmp(a, buf, N) == 0);
    a[10] = 'A';
    CHECK(b[10] == 'A');
    char c = 0;
    CHECK(pread(fd, &c, 1, 10) == 1 && c == 'A');
    CHECK(pwrite(fd, "W", 1, PAGE + 5) == 1);
    CHECK(a[PAGE + 5] == 'W' && b[PAGE + 5] == 'W');
    /* An offset mapping sees the same bytes. */
    char *o = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    CHECK(o != MAP_FAILED && o[5] == 'W');
    b[PAGE + 6] = 'V';
    CHECK(o[6] == 'V');
    CHECK(munmap(o, PAGE) == 0);

    /* After msync, the stores are in the file for everyone: read through another name
     * (a hard link, opened afresh). */
    CHECK(msync(a, N, MS_SYNC) == 0);
    CHECK(link("data", "alias") == 0);
    int al = open("alias", O_RDONLY);
    char two[2] = {0};
    CHECK(al >= 0 && pread(al, two, 1, 10) == 1 && two[0] == 'A');
    CHECK(pread(al, two, 2, PAGE + 5) == 2 && memcmp(two, "WV", 2) == 0);
    close(al);
    CHECK(unlink("alias") == 0);

    /* msync: flags and range checks. */
    CHECK(msync(a, N, MS_SYNC) == 0);
    CHECK(msync(a, N, MS_ASYNC) == 0);
    CHECK(msync(a, N, MS_INVALIDATE) == 0);
    CHECK(msync(a, 0, MS_SYNC) == 0);
    CHECK(msync(a + PAGE, 1, MS_SYNC) == 0);
    EXPECT_ERRNO(msync(a, N, MS_SYNC | MS_ASYNC), EINVAL);
    EXPECT_ERRNO(msync(a, N, 0x100), EINVAL);
    EXPECT_ERRNO(msync(a + 1, N, MS_SYNC), EINVAL);
    char *hole = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hole != MAP_FAILED && munmap(hole + PAGE, PAGE) == 0);
    EXPECT_ERRNO(msync(hole, 3 * PAGE, MS_SYNC), ENOMEM);
    CHECK(msync(hole, PAGE, MS_SYNC) == 0);
    munmap(hole, 3 * PAGE);

    /* The data outlives the mappings. */
    a[2 * PAGE] = 'Z';
    CHECK(munmap(a, N) == 0 && munmap(b, N) == 0);
    CHECK(pread(fd, &c, 1, 2 * PAGE) == 1 && c == 'Z');

    /* Growth: a mapping larger than the file sees the new pages after ftruncate. */
    char *g = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(g != MAP_FAILED);
    CHECK(ftruncate(fd, 5 * PAGE) == 0);
    CHECK(g[4 * PAGE] == 0);
    g[4 * PAGE + 1] = 'G';
    CHECK(pread(fd, &c, 1, 4 * PAGE + 1) == 1 && c == 'G');
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5 * PAGE);
    /* Stores never change the size; truncation cuts what the mapping shows. */
    CHECK(ftruncate(fd, PAGE + 10) == 0);
    CHECK(g[PAGE + 9] == buf[PAGE + 9] && g[PAGE + 10] == 0 && g[PAGE + 100] == 0);
    CHECK(munmap(g, 5 * PAGE) == 0);

    /* A private mapping made after shared stores sees them. */
    char *pv = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(pv != MAP_FAILED && pv[10] == 'A');
    munmap(pv, PAGE);

    /* Access modes. */
    int ro = open("data", O_RDONLY);
    int wo = open("data", O_WRONLY);
    CHECK(ro >= 0 && wo >= 0);
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wo, 0), EACCES);
    char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED && r[10] == 'A');
    EXPECT_ERRNO(mprotect(r, PAGE, PROT_READ | PROT_WRITE), EACCES);
    CHECK(pwrite(fd, "R", 1, 11) == 1 && r[11] == 'R');
    munmap(r, PAGE);
    char *rp = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ro, 0);
    CHECK(rp != MAP_FAILED && mprotect(rp, PAGE, PROT_READ | PROT_WRITE) == 0);
    rp[0] = 1;
    munmap(rp, PAGE);
    /* MAP_SHARED_VALIDATE: unknown flags, MAP_SYNC on a non-DAX file, and (as Linux
     * has it) MAP_FIXED_NOREPLACE are refused; the huge page size bits are not. */
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | 0x200, fd, 0), EOPNOTSUPP);
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0), EOPNOTSUPP);
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, fd, 0),
                 EOPNOTSUPP);
    char *hv = mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | 0x40000000, fd, 0);
    CHECK(hv != MAP_FAILED && hv[10] == 'A');
    munmap(hv, PAGE);

    /* An unlinked file stays mapped. */
    char *u = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(u != MAP_FAILED);
    CHECK(unlink("data") == 0);
    u[20] = 'U';
    CHECK(pread(fd, &c, 1, 20) == 1 && c == 'U');
    munmap(u, PAGE);

    /* memfd: shared mappings, and seals. */
    int m = memfd_create("sm", MFD_ALLOW_SEALING);
    CHECK(m >= 0 && ftruncate(m, 2 * PAGE) == 0);
    char *mp = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    CHECK(mp != MAP_FAILED);
    mp[PAGE] = 'M';
    CHECK(pread(m, &c, 1, PAGE) == 1 && c == 'M');
    CHECK(munmap(mp, 2 * PAGE) == 0);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE) == 0);
    EXPECT_ERRNO(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0), EPERM);
    char *mr = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, m, 0);
    CHECK(mr != MAP_FAILED && mr[0] == 0);
    munmap(mr, PAGE);

    /* /dev/shm is tmpfs too. */
    int s = open("/dev/shm", O_RDWR | O_TMPFILE, 0600);
    CHECK(s >= 0 && ftruncate(s, PAGE) == 0);
    char *sp = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
    CHECK(sp != MAP_FAILED);
    strcpy(sp, "shm");
    char sb[4] = {0};
    CHECK(pread(s, sb, 3, 0) == 3 && strcmp(sb, "shm") == 0);
    munmap(sp, PAGE);

    close(s);
    close(m);
    close(ro);
    close(wo);
    close(fd);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
