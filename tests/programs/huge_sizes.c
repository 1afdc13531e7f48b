#define _GNU_SOURCE
/* Asks the sandbox's tmpfs for absurd sizes, as Linux's tmpfs answers them: a write at
 * 1 TiB and a truncate to 1 TiB make a sparse file (no memory used), allocating 1 TiB is
 * ENOSPC. Run only in the sandbox (natively /tmp may be a disk filesystem with other
 * limits) by tests/real_programs.rs: the sentry must never try to hold 1 TiB. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(void) {
    int fd = open("/tmp/huge", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(pwrite(fd, "x", 1, 1L << 40) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (1L << 40) + 1 && st.st_blocks == 8);
    CHECK(lseek(fd, 0, SEEK_DATA) == 1L << 40);
    CHECK(ftruncate(fd, 2L << 40) == 0 && fstat(fd, &st) == 0 && st.st_blocks == 8);
    CHECK(ftruncate(fd, 0) == 0);
    EXPECT_ERRNO(fallocate(fd, 0, 0, 1L << 40), ENOSPC);
    CHECK(pwrite(fd, "x", 1, 1 << 20) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == (1 << 20) + 1);
    return finish();
}
