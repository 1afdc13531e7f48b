/* fcntl commands: F_DUPFD and F_DUPFD_CLOEXEC, descriptor flags, status flags
 * (what F_GETFL reports and which bits F_SETFL changes), pipe-size commands on a
 * regular file, leases, seals, and the errors for bad commands and descriptors. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

int main(void) {
    char dir[] = "/tmp/fc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);

    /* F_DUPFD: lowest free descriptor >= arg. */
    int d1 = fcntl(fd, F_DUPFD, 0);
    CHECK(d1 == fd + 1);
    int d2 = fcntl(fd, F_DUPFD, 20);
    CHECK(d2 == 20);
    int d3 = fcntl(fd, F_DUPFD, 20);
    CHECK(d3 == 21);
    CHECK(close(20) == 0);
    CHECK(fcntl(fd, F_DUPFD, 19) == 19);
    CHECK(fcntl(fd, F_DUPFD, 19) == 20);
    CHECK(fcntl(d1, F_GETFD) == 0);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, rl.rlim_cur), EINVAL);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, rl.rlim_cur + 5), EINVAL);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, -1), EINVAL);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD_CLOEXEC, -1), EINVAL);
    CHECK(fcntl(fd, F_DUPFD, rl.rlim_cur - 1) == (int)rl.rlim_cur - 1);
    EXPECT_ERRNO(fcntl(fd, F_DUPFD, rl.rlim_cur - 1), EMFILE);
    CHECK(close(rl.rlim_cur - 1) == 0);
    int dc = fcntl(fd, F_DUPFD_CLOEXEC, 30);
    CHECK(dc == 30 && fcntl(dc, F_GETFD) == FD_CLOEXEC);
    /* The duplicate shares the offset. */
    CHECK(write(fd, "abcdef", 6) == 6 && lseek(dc, 0, SEEK_CUR) == 6);

    /* F_GETFD / F_SETFD: only FD_CLOEXEC is kept. */
    CHECK(fcntl(d1, F_SETFD, FD_CLOEXEC) == 0 && fcntl(d1, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(fcntl(d1, F_SETFD, 0xfe) == 0 && fcntl(d1, F_GETFD) == 0);
    CHECK(fcntl(d1, F_SETFD, 0xff) == 0 && fcntl(d1, F_GETFD) == FD_CLOEXEC);

    /* F_GETFL reports the access mode and status flags as Linux keeps them. */
    printf("rdwr flags %#o\n", fcntl(fd, F_GETFL));
    int ro = open("f", O_RDONLY), wo = open("f", O_WRONLY | O_APPEND | O_NONBLOCK);
    printf("rdonly flags %#o\n", fcntl(ro, F_GETFL));
    printf("wronly|append|nonblock flags %#o\n", fcntl(wo, F_GETFL));
    int cre = open("g", O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0600);
    printf("creat|excl|trunc|noctty|cloexec flags %#o\n", fcntl(cre, F_GETFL));
    int sy = open("f", O_RDWR | O_SYNC | O_DSYNC | O_NOATIME);
    printf("sync|noatime flags %#o\n", fcntl(sy, F_GETFL));
    int ds = open("f", O_RDWR | O_DSYNC);
    printf("dsync flags %#o\n", fcntl(ds, F_GETFL));
    int pa = open("f", O_PATH);
    printf("path flags %#o\n", fcntl(pa, F_GETFL));
    int dd = open(".", O_RDONLY | O_DIRECTORY);
    printf("directory flags %#o\n", fcntl(dd, F_GETFL));

    /* F_SETFL changes only O_APPEND|O_ASYNC|O_DIRECT|O_NOATIME|O_NONBLOCK. */
    CHECK(fcntl(ro, F_SETFL, O_RDWR | O_APPEND | O_NONBLOCK | O_TRUNC | O_SYNC | O_CREAT) == 0);
    printf("rdonly after setfl %#o\n", fcntl(ro, F_GETFL));
    EXPECT_ERRNO(write(ro, "x", 1), EBADF);
    CHECK(fcntl(ro, F_SETFL, O_NOATIME) == 0);
    printf("rdonly after setfl noatime %#o\n", fcntl(ro, F_GETFL));
    CHECK(fcntl(ro, F_SETFL, 0) == 0);
    printf("rdonly after setfl 0 %#o\n", fcntl(ro, F_GETFL));
    /* The status flags belong to the open file description. */
    CHECK(fcntl(d1, F_SETFL, O_APPEND) == 0 && (fcntl(fd, F_GETFL) & O_APPEND));
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "XY", 2) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 8);
    char buf[16] = {0};
    CHECK(pread(fd, buf, sizeof buf, 0) == 8 && memcmp(buf, "abcdefXY", 8) == 0);
    CHECK(fcntl(fd, F_SETFL, 0) == 0 && !(fcntl(d1, F_GETFL) & O_APPEND));
    CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "Z", 1) == 1);
    CHECK(pread(fd, buf, sizeof buf, 0) == 8 && memcmp(buf, "ZbcdefXY", 8) == 0);
    CHECK(fcntl(wo, F_SETFL, 0) == 0);
    printf("wronly after setfl 0 %#o\n", fcntl(wo, F_GETFL));

    /* Pipe sizes on a regular file; leases. */
    EXPECT_ERRNO(fcntl(fd, F_GETPIPE_SZ), EBADF);
    EXPECT_ERRNO(fcntl(fd, F_SETPIPE_SZ, 65536), EBADF);
    CHECK(fcntl(fd, F_GETLEASE) == F_UNLCK);
    CHECK(fcntl(ro, F_GETLEASE) == F_UNLCK);
    EXPECT_ERRNO(fcntl(dd, F_SETLEASE, F_RDLCK), EINVAL);
    EXPECT_ERRNO(fcntl(fd, F_SETLEASE, 99), EINVAL);

    /* Unknown commands and bad descriptors. */
    EXPECT_ERRNO(fcntl(fd, 9999), EINVAL);
    EXPECT_ERRNO(fcntl(fd, -1), EINVAL);
    EXPECT_ERRNO(fcntl(-1, F_GETFD), EBADF);
    EXPECT_ERRNO(fcntl(999, F_GETFL), EBADF);
    EXPECT_ERRNO(fcntl(999, F_DUPFD, 0), EBADF);
    EXPECT_ERRNO(fcntl(999, 9999), EBADF);
    /* An O_PATH descriptor allows only a few commands. */
    CHECK(fcntl(pa, F_GETFD) == 0);
    CHECK(fcntl(pa, F_DUPFD, 0) >= 0);
    EXPECT_ERRNO(fcntl(pa, F_GETLEASE), EBADF);
    EXPECT_ERRNO(fcntl(pa, F_GET_SEALS), EBADF);
    EXPECT_ERRNO(fcntl(pa, F_SETFL, O_NONBLOCK), EBADF);
    EXPECT_ERRNO(fcntl(pa, F_GETOWN), EBADF);
    struct flock pl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    EXPECT_ERRNO(fcntl(pa, F_SETLK, &pl), EBADF);

    /* Seals: only shmem files take them (a tmpfs /tmp file would too, so the
     * non-shmem case uses /dev/null and a directory). */
    int nul = open("/dev/null", O_RDWR);
    EXPECT_ERRNO(fcntl(nul, F_GET_SEALS), EINVAL);
    EXPECT_ERRNO(fcntl(nul, F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
    EXPECT_ERRNO(fcntl(dd, F_GET_SEALS), EINVAL);
    /* F_ADD_SEALS checks for a writable description first. */
    EXPECT_ERRNO(fcntl(dd, F_ADD_SEALS, F_SEAL_SEAL), EPERM);
    EXPECT_ERRNO(fcntl(nul, F_ADD_SEALS, 0x100), EINVAL);
    int m = memfd_create("seals", MFD_ALLOW_SEALING);
    CHECK(m >= 0 && fcntl(m, F_GET_SEALS) == 0);
    EXPECT_ERRNO(fcntl(m, F_ADD_SEALS, 0x100), EINVAL);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
    CHECK(fcntl(m, F_GET_SEALS) == F_SEAL_SHRINK);
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_GROW) == 0);
    CHECK(fcntl(m, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW));
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SEAL) == 0);
    CHECK(fcntl(m, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    EXPECT_ERRNO(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    EXPECT_ERRNO(fcntl(m, F_ADD_SEALS, 0), EPERM);
    CHECK(fcntl(m, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    printf("memfd flags %#o\n", fcntl(m, F_GETFL));

    for (int i = 3; i < 64; i++)
        close(i);
    CHECK(unlink("f") == 0 && unlink("g") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
