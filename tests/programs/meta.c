/* chmod/fchmod/fchmodat, access/faccessat/faccessat2, umask, truncate/ftruncate,
 * utimensat (UTIME_NOW/UTIME_OMIT/explicit/NULL path), fsync family, statfs of /dev/shm,
 * getcwd sizes and after renaming the cwd's parent. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

int main(void) {
    char dir[] = "/tmp/meta-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    CHECK(umask(027) == 022 || 1);
    int fd = open("f", O_CREAT | O_RDWR, 0666);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(chmod("f", 04755) == 0 && stat("f", &st) == 0 && (st.st_mode & 07777) == 04755);
    CHECK(fchmod(fd, 0600) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(fchmodat(AT_FDCWD, "f", 0644, 0) == 0);
    EXPECT_ERRNO(chmod("missing", 0644), ENOENT);
    CHECK(access("f", R_OK | W_OK) == 0);
    EXPECT_ERRNO(access("f", 8), EINVAL);
    CHECK(faccessat(AT_FDCWD, "f", F_OK, 0) == 0);
    CHECK(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS) == 0);
    EXPECT_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x8000), EINVAL);
    /* Truncation. */
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(truncate("f", 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 4);
    CHECK(ftruncate(fd, 8192) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192);
    char buf[16];
    CHECK(pread(fd, buf, 8, 4) == 8 && buf[0] == 0 && buf[7] == 0);
    EXPECT_ERRNO(truncate("f", -1), EINVAL);
    EXPECT_ERRNO(truncate(".", 0), EISDIR);
    int ro = open("f", O_RDONLY);
    EXPECT_ERRNO(ftruncate(ro, 0), EINVAL);
    /* Times. */
    struct timespec ts[2] = {{1000000000, 123}, {1200000000, 456}};
    CHECK(utimensat(AT_FDCWD, "f", ts, 0) == 0 && stat("f", &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123 && st.st_mtim.tv_sec == 1200000000 && st.st_mtim.tv_nsec == 456);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {5, 6}};
    CHECK(utimensat(AT_FDCWD, "f", omit, 0) == 0 && stat("f", &st) == 0 && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 5);
    CHECK(syscall(SYS_utimensat, fd, NULL, NULL, 0) == 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_sec > 1000000000);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    EXPECT_ERRNO(utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0 && syncfs(fd) == 0);
    sync();
    struct statfs sf;
    CHECK(statfs("/dev/shm", &sf) == 0);
    printf("/dev/shm is tmpfs: %s, namelen %ld\n", sf.f_type == 0x01021994 ? "yes" : "no", (long)sf.f_namelen);
    /* getcwd. */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL && !strcmp(cwd, dir));
    EXPECT_ERRNO(syscall(SYS_getcwd, cwd, 3), ERANGE);
    CHECK(mkdir("x", 0755) == 0 && mkdir("x/y", 0755) == 0 && chdir("x/y") == 0);
    CHECK(rename("../../x", "../../x2") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    printf("cwd after renaming its parent ends with /x2/y: %s\n", strlen(cwd) > 5 && !strcmp(cwd + strlen(cwd) - 5, "/x2/y") ? "yes" : "no");
    CHECK(chdir(dir) == 0 && rmdir("x2/y") == 0 && rmdir("x2") == 0);
    close(fd);
    close(ro);
    unlink("f");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
