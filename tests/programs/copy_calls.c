/* sendfile, copy_file_range, splice and tee between regular files: offsets (the
 * file's own or a pointer), short copies at EOF, and the documented errors. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

static char data[20000], back[20000];

static off_t size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

int main(void) {
    char dir[] = "/tmp/cc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + i / 251);
    int src = open("src", O_RDWR | O_CREAT, 0644);
    CHECK(write(src, data, sizeof data) == (ssize_t)sizeof data);
    int dst = open("dst", O_RDWR | O_CREAT, 0644);

    /* sendfile with the input's own offset: it advances. */
    CHECK(lseek(src, 100, SEEK_SET) == 100);
    CHECK(sendfile(dst, src, NULL, 1000) == 1000);
    CHECK(lseek(src, 0, SEEK_CUR) == 1100 && lseek(dst, 0, SEEK_CUR) == 1000);
    CHECK(pread(dst, back, 1000, 0) == 1000 && memcmp(back, data + 100, 1000) == 0);
    /* With an offset pointer: the pointer advances, the file offset does not. */
    off_t off = 5000;
    CHECK(sendfile(dst, src, &off, 3000) == 3000 && off == 8000);
    CHECK(lseek(src, 0, SEEK_CUR) == 1100 && lseek(dst, 0, SEEK_CUR) == 4000);
    CHECK(pread(dst, back, 3000, 1000) == 3000 && memcmp(back, data + 5000, 3000) == 0);
    /* More than the file holds: a short count, then 0 at EOF. */
    off = 19000;
    CHECK(sendfile(dst, src, &off, 5000) == 1000 && off == 20000);
    CHECK(sendfile(dst, src, &off, 5000) == 0 && off == 20000);
    off = 30000;
    CHECK(sendfile(dst, src, &off, 10) == 0 && off == 30000);
    CHECK(sendfile(dst, src, NULL, 0) == 0 && lseek(src, 0, SEEK_CUR) == 1100);
    CHECK(size_of(dst) == 5000);
    int nul = open("/dev/null", O_WRONLY);
    CHECK(sendfile(nul, src, NULL, 100000) == 18900 && lseek(src, 0, SEEK_CUR) == 20000);
    /* Errors. */
    int app = open("app", O_WRONLY | O_CREAT | O_APPEND, 0644);
    int wo = open("src", O_WRONLY), ro = open("dst", O_RDONLY);
    int d = open(".", O_RDONLY | O_DIRECTORY), pa = open("src", O_PATH);
    off = 0;
    EXPECT_ERRNO(sendfile(app, src, &off, 10), EINVAL);
    EXPECT_ERRNO(sendfile(dst, wo, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(ro, src, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(dst, pa, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(999, src, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(dst, 999, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(dst, d, &off, 10), EINVAL);
    off = -1;
    EXPECT_ERRNO(sendfile(dst, src, &off, 10), EINVAL);
    EXPECT_ERRNO(sendfile(ro, src, &off, 10), EINVAL);
    EXPECT_ERRNO(sendfile(dst, src, (off_t *)8, 10), EFAULT);
    EXPECT_ERRNO(sendfile(999, 999, (off_t *)8, 10), EFAULT);
    off = 0;
    EXPECT_ERRNO(sendfile(ro, d, &off, 10), EBADF);
    EXPECT_ERRNO(sendfile(app, d, &off, 10), EINVAL);
    CHECK(size_of(app) == 0);

    /* copy_file_range with the files' own offsets: both advance. */
    int out = open("out", O_RDWR | O_CREAT, 0644);
    CHECK(lseek(src, 10, SEEK_SET) == 10);
    CHECK(copy_file_range(src, NULL, out, NULL, 500, 0) == 500);
    CHECK(lseek(src, 0, SEEK_CUR) == 510 && lseek(out, 0, SEEK_CUR) == 500);
    CHECK(pread(out, back, 500, 0) == 500 && memcmp(back, data + 10, 500) == 0);
    /* Explicit offsets: pointers advance, file offsets stay; a gap reads as zeros. */
    loff_t in = 1000, o = 2000;
    CHECK(copy_file_range(src, &in, out, &o, 700, 0) == 700 && in == 1700 && o == 2700);
    CHECK(lseek(src, 0, SEEK_CUR) == 510 && lseek(out, 0, SEEK_CUR) == 500);
    CHECK(size_of(out) == 2700);
    CHECK(pread(out, back, 1500, 500) == 1500 && back[0] == 0 && back[1499] == 0);
    CHECK(pread(out, back, 700, 2000) == 700 && memcmp(back, data + 1000, 700) == 0);
    /* One pointer, one file offset. */
    in = 0;
    CHECK(copy_file_range(src, &in, out, NULL, 100, 0) == 100 && in == 100);
    CHECK(lseek(out, 0, SEEK_CUR) == 600);
    /* Short at EOF, 0 past it, 0 for len 0. */
    in = 19900, o = 0;
    CHECK(copy_file_range(src, &in, out, &o, 1000, 0) == 100 && in == 20000 && o == 100);
    CHECK(copy_file_range(src, &in, out, &o, 1000, 0) == 0 && in == 20000);
    in = 50000;
    CHECK(copy_file_range(src, &in, out, &o, 10, 0) == 0 && in == 50000);
    in = 0;
    CHECK(copy_file_range(src, &in, out, &o, 0, 0) == 0 && in == 0 && o == 100);
    /* The same file: fine when the ranges do not overlap, EINVAL when they do. */
    in = 0, o = 100;
    CHECK(copy_file_range(out, &in, out, &o, 100, 0) == 100);
    in = 0, o = 50;
    EXPECT_ERRNO(copy_file_range(out, &in, out, &o, 100, 0), EINVAL);
    in = 50, o = 0;
    EXPECT_ERRNO(copy_file_range(out, &in, out, &o, 100, 0), EINVAL);
    /* Errors. */
    in = 0, o = 0;
    EXPECT_ERRNO(copy_file_range(src, &in, out, &o, 10, 1), EINVAL);
    EXPECT_ERRNO(copy_file_range(src, &in, app, NULL, 10, 0), EBADF);
    EXPECT_ERRNO(copy_file_range(wo, &in, out, &o, 10, 0), EBADF);
    EXPECT_ERRNO(copy_file_range(src, &in, ro, &o, 10, 0), EBADF);
    EXPECT_ERRNO(copy_file_range(999, &in, out, &o, 10, 0), EBADF);
    EXPECT_ERRNO(copy_file_range(d, &in, out, &o, 10, 0), EISDIR);
    EXPECT_ERRNO(copy_file_range(src, &in, nul, NULL, 10, 0), EINVAL);
    EXPECT_ERRNO(copy_file_range(999, &in, out, &o, 10, 1), EBADF);
    EXPECT_ERRNO(copy_file_range(pa, &in, out, &o, 10, 0), EBADF);
    EXPECT_ERRNO(copy_file_range(d, &in, ro, &o, 10, 0), EISDIR);
    EXPECT_ERRNO(copy_file_range(nul, &in, ro, &o, 10, 0), EINVAL);
    /* Offsets that wrap are EOVERFLOW; other negative ones EINVAL. */
    in = -1;
    EXPECT_ERRNO(copy_file_range(src, &in, out, &o, 10, 0), EOVERFLOW);
    in = -100;
    EXPECT_ERRNO(copy_file_range(src, &in, out, &o, 10, 0), EINVAL);
    in = 0, o = -5;
    EXPECT_ERRNO(copy_file_range(src, &in, out, &o, 10, 0), EOVERFLOW);
    o = -500;
    EXPECT_ERRNO(copy_file_range(src, &in, out, &o, 10, 0), EINVAL);
    o = 0;
    EXPECT_ERRNO(copy_file_range(src, (loff_t *)8, out, &o, 10, 1), EFAULT);
    /* The overlap test uses the length cut at the source's end. */
    in = 2650, o = 2710;
    CHECK(copy_file_range(out, &in, out, &o, 100, 0) == 50 && in == 2700 && o == 2760);
    CHECK(ftruncate(out, 2700) == 0);

    /* splice and tee need a pipe on one end: regular files alone are EINVAL. */
    in = 0, o = 0;
    EXPECT_ERRNO(splice(src, &in, out, &o, 10, 0), EINVAL);
    EXPECT_ERRNO(splice(src, NULL, out, NULL, 10, 0), EINVAL);
    EXPECT_ERRNO(splice(999, NULL, out, NULL, 10, 0), EBADF);
    EXPECT_ERRNO(splice(src, NULL, ro, NULL, 10, 0), EBADF);
    EXPECT_ERRNO(tee(src, out, 10, 0), EINVAL);
    EXPECT_ERRNO(tee(999, out, 10, 0), EBADF);
    CHECK(size_of(out) == 2700);

    for (int i = 3; i < 20; i++)
        close(i);
    const char *names[] = {"src", "dst", "app", "out"};
    for (int i = 0; i < 4; i++)
        CHECK(unlink(names[i]) == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
