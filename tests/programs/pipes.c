/* Pipes and fifos within one process: pipe2 flags, capacity and F_GETPIPE_SZ /
 * F_SETPIPE_SZ, non-blocking reads and writes, PIPE_BUF atomicity, EOF and EPIPE,
 * O_DIRECT packets, FIONREAD, ESPIPE, splice and tee through pipes, fifos made with
 * mkfifo opened without blocking. Works in a scratch dir. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static char big[1 << 17];

static int avail(int fd) {
    int n = -1;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

int main(void) {
    char dir[] = "/tmp/pp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    signal(SIGPIPE, SIG_IGN);

    int p[2];
    CHECK(pipe(p) == 0);
    struct stat st;
    CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(st.st_size == 0 && st.st_nlink == 1);
    struct stat st1;
    CHECK(fstat(p[1], &st1) == 0 && st1.st_ino == st.st_ino && st1.st_dev == st.st_dev);
    CHECK(fcntl(p[0], F_GETFL) == O_RDONLY);
    CHECK(fcntl(p[1], F_GETFL) == O_WRONLY);
    CHECK(fcntl(p[0], F_GETFD) == 0);
    char link[64] = {0};
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    CHECK(readlink(path, link, sizeof link - 1) > 0 && strncmp(link, "pipe:[", 6) == 0);

    char buf[64] = {0};
    /* /proc/self/fd/N of a pipe opens the pipe again, as a fifo: here its write side. */
    int w2 = open(path, O_WRONLY);
    CHECK(w2 >= 0 && write(w2, "via", 3) == 3);
    struct stat st2;
    CHECK(fstat(w2, &st2) == 0 && st2.st_ino == st.st_ino);
    CHECK(read(p[0], buf, sizeof buf) == 3 && memcmp(buf, "via", 3) == 0);
    close(w2);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(avail(p[0]) == 5);
    CHECK(read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 2 && memcmp(buf, "lo", 2) == 0);
    EXPECT_ERRNO(lseek(p[0], 0, SEEK_SET), ESPIPE);
    EXPECT_ERRNO(pread(p[0], buf, 1, 0), ESPIPE);
    EXPECT_ERRNO(pwrite(p[1], buf, 1, 0), ESPIPE);
    EXPECT_ERRNO(write(p[0], "x", 1), EBADF);
    EXPECT_ERRNO(read(p[1], buf, 1), EBADF);
    CHECK(read(p[0], buf, 0) == 0);

    /* Non-blocking: EAGAIN when empty, partial writes when full, capacity 64 KiB. */
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK((fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
    EXPECT_ERRNO(read(p[0], buf, 1), EAGAIN);
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 65536);
    CHECK(write(p[1], big, sizeof big) == 65536);
    EXPECT_ERRNO(write(p[1], "x", 1), EAGAIN);
    CHECK(avail(p[0]) == 65536);
    EXPECT_ERRNO(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    CHECK(read(p[0], big, sizeof big) == 65536);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 5000) == 8192);
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 8192);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 0) == 4096);
    /* PIPE_BUF atomicity: 4096 bytes do not go in part-way. */
    CHECK(write(p[1], "a", 1) == 1);
    EXPECT_ERRNO(write(p[1], big, 4096), EAGAIN);
    /* The part past the last whole page merges into the newest slot, if it fits. */
    CHECK(write(p[1], big, 5000) == 904);
    CHECK(write(p[1], big, 10) == 10);
    CHECK(read(p[0], big, sizeof big) == 915);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 65536) == 65536);
    int f = open("file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(f >= 0);
    EXPECT_ERRNO(fcntl(f, F_GETPIPE_SZ), EBADF);
    EXPECT_ERRNO(fcntl(f, F_SETPIPE_SZ, 8192), EBADF);

    /* EOF after the writer closes; EPIPE after the reader closes. */
    CHECK(write(p[1], "end", 3) == 3);
    CHECK(close(p[1]) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 3);
    CHECK(read(p[0], buf, sizeof buf) == 0);
    CHECK(close(p[0]) == 0);
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHECK(close(p[0]) == 0);
    EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
    CHECK(close(p[1]) == 0);

    /* Flags and pointers. */
    EXPECT_ERRNO(pipe2(p, O_APPEND), EINVAL);
    EXPECT_ERRNO(pipe2(p, 0x80000000), EINVAL);
    EXPECT_ERRNO(syscall(SYS_pipe2, 8, 0), EFAULT);

    /* Packet mode. */
    CHECK(pipe2(p, O_DIRECT | O_NONBLOCK) == 0);
    CHECK((fcntl(p[1], F_GETFL) & O_DIRECT) != 0);
    CHECK(write(p[1], "abc", 3) == 3 && write(p[1], "defg", 4) == 4);
    CHECK(avail(p[0]) == 7);
    CHECK(read(p[0], buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK(read(p[0], buf, 2) == 2 && memcmp(buf, "de", 2) == 0);
    EXPECT_ERRNO(read(p[0], buf, sizeof buf), EAGAIN);
    /* 16 slots: 16 packets fill it. */
    int n = 0;
    while (write(p[1], "x", 1) == 1)
        n++;
    CHECK(n == 16 && errno == EAGAIN);
    close(p[0]);
    close(p[1]);

    /* splice: file -> pipe -> file. tee: pipe -> pipe, leaving the source. */
    CHECK(pwrite(f, "0123456789", 10, 0) == 10);
    int q[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0 && pipe2(q, O_NONBLOCK) == 0);
    loff_t off = 2;
    CHECK(splice(f, &off, p[1], NULL, 5, 0) == 5 && off == 7);
    CHECK(tee(p[0], q[1], 100, 0) == 5);
    CHECK(avail(p[0]) == 5 && avail(q[0]) == 5);
    CHECK(tee(p[0], q[1], 2, 0) == 2 && avail(q[0]) == 7);
    EXPECT_ERRNO(tee(p[0], p[1], 1, 0), EINVAL);
    EXPECT_ERRNO(tee(f, q[1], 1, 0), EINVAL);
    EXPECT_ERRNO(splice(p[0], &off, f, NULL, 1, 0), ESPIPE);
    off = 20;
    CHECK(splice(p[0], NULL, f, &off, 100, 0) == 5 && off == 25);
    CHECK(pread(f, buf, 5, 20) == 5 && memcmp(buf, "23456", 5) == 0);
    EXPECT_ERRNO(splice(p[0], NULL, f, NULL, 100, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK(read(q[0], buf, sizeof buf) == 7 && memcmp(buf, "2345623", 7) == 0);
    EXPECT_ERRNO(tee(p[0], q[1], 1, SPLICE_F_NONBLOCK), EAGAIN);
    close(p[1]);
    CHECK(tee(p[0], q[1], 1, 0) == 0);
    close(p[0]);
    close(q[0]);
    close(q[1]);

    /* Fifos. */
    CHECK(mkfifo("fifo", 0644) == 0);
    CHECK(stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644);
    EXPECT_ERRNO(mkfifo("fifo", 0644), EEXIST);
    EXPECT_ERRNO(open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
    int r = open("fifo", O_RDONLY | O_NONBLOCK);
    CHECK(r >= 0);
    CHECK(read(r, buf, 1) == 0); /* no writer: EOF */
    int w = open("fifo", O_WRONLY | O_NONBLOCK);
    CHECK(w >= 0);
    EXPECT_ERRNO(read(r, buf, 1), EAGAIN);
    CHECK(write(w, "fifo!", 5) == 5);
    CHECK(fstat(w, &st1) == 0 && S_ISFIFO(st1.st_mode) && st1.st_ino == st.st_ino);
    CHECK(read(r, buf, sizeof buf) == 5 && memcmp(buf, "fifo!", 5) == 0);
    CHECK(fcntl(w, F_GETPIPE_SZ) == 65536);
    int rw = open("fifo", O_RDWR);
    CHECK(rw >= 0 && write(rw, "rw", 2) == 2);
    CHECK(read(r, buf, sizeof buf) == 2);
    /* When nobody has it open, a fifo forgets its contents. */
    CHECK(write(w, "lost", 4) == 4);
    close(r);
    close(w);
    close(rw);
    r = open("fifo", O_RDONLY | O_NONBLOCK);
    CHECK(r >= 0 && read(r, buf, sizeof buf) == 0);
    EXPECT_ERRNO(lseek(r, 0, SEEK_SET), ESPIPE);
    EXPECT_ERRNO(ftruncate(r, 0), EINVAL);
    close(r);
    CHECK(mknod("fifo2", S_IFIFO | 0600, 0) == 0);
    CHECK(stat("fifo2", &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(unlink("fifo") == 0 && unlink("fifo2") == 0);

    close(f);
    CHECK(unlink("file") == 0);
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
