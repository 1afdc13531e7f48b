/* Flushing and space: fsync/fdatasync/sync/syncfs/sync_file_range, fallocate modes
 * (punching holes), posix_fadvise, readahead, truncate/ftruncate errors, and statfs
 * filesystem types of tmpfs and proc. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>

int main(void) {
    char dir[] = "/tmp/sy-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    int fd = open("f", O_RDWR | O_CREAT, 0644);
    static char data[16384];
    memset(data, 'a', sizeof data);
    CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
    int ro = open("f", O_RDONLY), wo = open("f", O_WRONLY), pa = open("f", O_PATH);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    int nul = open("/dev/null", O_RDWR);

    /* fsync and friends. */
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0 && fsync(ro) == 0);
    CHECK(fsync(d) == 0 && fdatasync(d) == 0);
    EXPECT_ERRNO(fsync(nul), EINVAL);
    EXPECT_ERRNO(fdatasync(nul), EINVAL);
    EXPECT_ERRNO(fsync(pa), EBADF);
    int pst = open("/proc/self/status", O_RDONLY);
    EXPECT_ERRNO(fsync(pst), EINVAL);
    close(pst);
    EXPECT_ERRNO(fsync(999), EBADF);
    sync();
    CHECK(syncfs(fd) == 0 && syncfs(d) == 0 && syncfs(nul) == 0);
    EXPECT_ERRNO(syncfs(999), EBADF);
    EXPECT_ERRNO(syncfs(pa), EBADF);

    /* sync_file_range: any combination of the three flags, nonnegative ranges. */
    CHECK(sync_file_range(fd, 0, 0, 0) == 0);
    CHECK(sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE) == 0);
    CHECK(sync_file_range(ro, 100, 100, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0);
    CHECK(sync_file_range(fd, 1 << 30, 0, SYNC_FILE_RANGE_WAIT_AFTER) == 0);
    CHECK(sync_file_range(d, 0, 0, SYNC_FILE_RANGE_WRITE) == 0);
    EXPECT_ERRNO(sync_file_range(fd, 0, 0, 8), EINVAL);
    EXPECT_ERRNO(sync_file_range(fd, -1, 0, 0), EINVAL);
    EXPECT_ERRNO(sync_file_range(fd, 0, -1, 0), EINVAL);
    EXPECT_ERRNO(sync_file_range(fd, 0x7fffffffffffffffLL, 2, 0), EINVAL);
    EXPECT_ERRNO(sync_file_range(nul, 0, 0, 0), ESPIPE);
    EXPECT_ERRNO(sync_file_range(999, 0, 0, 0), EBADF);
    EXPECT_ERRNO(sync_file_range(pa, 0, 0, 0), EBADF);

    /* fallocate. */
    struct stat st;
    CHECK(fallocate(fd, 0, 16384, 4096) == 0 && fstat(fd, &st) == 0 && st.st_size == 20480);
    CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 20480, 8192) == 0 && fstat(fd, &st) == 0 && st.st_size == 20480);
    CHECK(fallocate(fd, 0, 0, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 20480);
    static char buf[20480];
    CHECK(pread(fd, buf, sizeof buf, 0) == 20480 && buf[16383] == 'a' && buf[16384] == 0 && buf[20479] == 0);
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 6000) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 20480);
    CHECK(pread(fd, buf, 8000, 0) == 8000);
    int zeros = 0, as = 0;
    for (int i = 0; i < 8000; i++)
        zeros += buf[i] == 0, as += buf[i] == 'a';
    printf("after punch: %d zeros, %d a's, edges %d %d %d %d\n", zeros, as, buf[999], buf[1000], buf[6999], buf[7000]);
    /* A hole past the end changes nothing; it never grows the file. */
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 18000, 10000) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 20480);
    CHECK(pread(fd, buf, 10, 7000) == 10 && buf[0] == 'a');
    EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
    EXPECT_ERRNO(fallocate(fd, 0x1000, 0, 10), EOPNOTSUPP);
    EXPECT_ERRNO(fallocate(ro, 0, 0, 10), EBADF);
    EXPECT_ERRNO(fallocate(ro, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10), EBADF);
    EXPECT_ERRNO(fallocate(ro, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
    EXPECT_ERRNO(fallocate(ro, 0, -1, 10), EINVAL);
    EXPECT_ERRNO(fallocate(pa, 0, 0, 10), EBADF);
    EXPECT_ERRNO(fallocate(999, 0, 0, 10), EBADF);
    EXPECT_ERRNO(fallocate(fd, 0, 0, -1), EINVAL);
    EXPECT_ERRNO(fallocate(fd, 0, -1, 10), EINVAL);
    EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(fallocate(fd, 0, 0x7fffffffffffffffLL, 10), EFBIG);
    EXPECT_ERRNO(fallocate(d, 0, 0, 10), EBADF);
    EXPECT_ERRNO(fallocate(nul, 0, 0, 10), ENODEV);
    CHECK(fallocate(wo, 0, 0, 10) == 0);

    /* Punching a shared mapping's pages: the mapping sees zeroes, then stays the file. */
    int m = memfd_create("punch", 0);
    CHECK(m >= 0 && ftruncate(m, 3 * 4096) == 0);
    char *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    CHECK(map != MAP_FAILED);
    memset(map, 'm', 3 * 4096);
    CHECK(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096) == 0);
    CHECK(map[4095] == 'm' && map[4096] == 0 && map[8191] == 0 && map[8192] == 'm');
    map[5000] = 'w';
    CHECK(pread(m, buf, 1, 5000) == 1 && buf[0] == 'w');
    CHECK(pread(m, buf, 1, 4096) == 1 && buf[0] == 0);
    CHECK(munmap(map, 3 * 4096) == 0 && close(m) == 0);

    /* posix_fadvise returns the error number itself. */
    int advs[] = {POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
                  POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    for (int i = 0; i < 6; i++)
        printf("fadvise %d: %d\n", advs[i], posix_fadvise(fd, 0, 100, advs[i]));
    CHECK(posix_fadvise(fd, 0, 0, 6) == EINVAL);
    CHECK(posix_fadvise(fd, 0, 0, -1) == EINVAL);
    CHECK(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL) == EINVAL);
    CHECK(posix_fadvise(fd, -1, 1, POSIX_FADV_NORMAL) == 0);
    CHECK(posix_fadvise(ro, 1 << 20, 1 << 20, POSIX_FADV_WILLNEED) == 0);
    CHECK(posix_fadvise(wo, 0, 0, POSIX_FADV_DONTNEED) == 0);
    CHECK(posix_fadvise(999, 0, 0, POSIX_FADV_NORMAL) == EBADF);
    CHECK(posix_fadvise(pa, 0, 0, POSIX_FADV_NORMAL) == EBADF);

    /* readahead: regular files opened for reading. */
    CHECK(readahead(fd, 0, 4096) == 0 && readahead(ro, 1 << 20, 0) == 0);
    EXPECT_ERRNO(readahead(wo, 0, 10), EBADF);
    EXPECT_ERRNO(readahead(d, 0, 10), EINVAL);
    EXPECT_ERRNO(readahead(nul, 0, 10), EINVAL);
    EXPECT_ERRNO(readahead(999, 0, 10), EBADF);
    CHECK(readahead(fd, -1, 10) == 0);

    /* truncate and ftruncate. */
    EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
    EXPECT_ERRNO(ftruncate(ro, 10), EINVAL);
    EXPECT_ERRNO(ftruncate(d, 10), EINVAL);
    EXPECT_ERRNO(ftruncate(pa, 10), EBADF);
    EXPECT_ERRNO(ftruncate(999, 10), EBADF);
    EXPECT_ERRNO(ftruncate(nul, 0), EINVAL);
    EXPECT_ERRNO(truncate("f", -1), EINVAL);
    EXPECT_ERRNO(truncate(".", 0), EISDIR);
    EXPECT_ERRNO(truncate("missing", 0), ENOENT);
    EXPECT_ERRNO(truncate("f/x", 0), ENOTDIR);
    EXPECT_ERRNO(truncate("", 0), ENOENT);
    CHECK(ftruncate(wo, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK(truncate("f", 30000) == 0 && fstat(fd, &st) == 0 && st.st_size == 30000);
    CHECK(pread(fd, buf, 10, 29990) == 10 && buf[0] == 0 && buf[9] == 0);

    /* Filesystem types. */
    struct statfs sf;
    CHECK(statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
    CHECK(statfs("/proc", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC);
    CHECK(statfs("/proc/self/status", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC);
    int pr = open("/proc/self/stat", O_RDONLY);
    CHECK(fstatfs(pr, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC);
    int shm = open("/dev/shm", O_RDONLY | O_DIRECTORY);
    CHECK(fstatfs(shm, &sf) == 0 && sf.f_type == TMPFS_MAGIC && sf.f_bsize == 4096);
    CHECK(fstatfs(pa, &sf) == 0);
    EXPECT_ERRNO(statfs("/missing", &sf), ENOENT);
    EXPECT_ERRNO(fstatfs(999, &sf), EBADF);
    EXPECT_ERRNO(statfs("/proc", (struct statfs *)8), EFAULT);

    for (int i = 3; i < 20; i++)
        close(i);
    CHECK(unlink("f") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
