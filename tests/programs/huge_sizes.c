/* Asks the sandbox's in-memory filesystems for absurd sizes: a write at 1 TiB, a
 * truncate to 1 TiB, fallocate of 1 TiB. Run only in the sandbox (natively /tmp may be a
 * sparse disk filesystem that accepts them) by tests/real_programs.rs: each must fail
 * with ENOSPC and the sandbox must carry on. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>

int main(void) {
    int fd = open("/tmp/huge", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    EXPECT_ERRNO(pwrite(fd, "x", 1, 1L << 40), ENOSPC);
    EXPECT_ERRNO(ftruncate(fd, 1L << 40), ENOSPC);
    EXPECT_ERRNO(fallocate(fd, 0, 0, 1L << 40), ENOSPC);
    CHECK(pwrite(fd, "x", 1, 1 << 20) == 1);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == (1 << 20) + 1);
    return finish();
}
