/* getrandom: lengths, flags, and errors. Random bytes are never printed;
 * only whether they look random (not all zero, two draws differ). */
#include "common.h"
#include <sys/random.h>

static int all_zero(const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void *volatile bad_ptr = (void *)16;

int main(void) {
    static unsigned char buf[65536], buf2[65536];
    size_t lens[] = {1, 16, 256, 4096, 65536};
    for (int i = 0; i < 5; i++) {
        memset(buf, 0, sizeof buf);
        ssize_t r = getrandom(buf, lens[i], 0);
        printf("getrandom(%zu) returned %zd, all zero: %s\n", lens[i], r,
               lens[i] >= 16 ? (all_zero(buf, lens[i]) ? "yes" : "no") : "n/a");
    }
    CHECK(getrandom(buf, 0, 0) == 0);
    CHECK(getrandom(buf, 64, 0) == 64 && getrandom(buf2, 64, 0) == 64 && memcmp(buf, buf2, 64) != 0);
    CHECK(getrandom(buf, 32, GRND_NONBLOCK) == 32 && !all_zero(buf, 32));
    CHECK(getrandom(buf, 32, GRND_RANDOM) == 32);
    CHECK(getrandom(buf, 32, GRND_RANDOM | GRND_NONBLOCK) == 32);
    CHECK(getrandom(buf, 32, GRND_INSECURE) == 32);
    EXPECT_ERRNO(getrandom(buf, 16, 0x80), EINVAL);
    EXPECT_ERRNO(getrandom(buf, 16, GRND_INSECURE | GRND_RANDOM), EINVAL);
    EXPECT_ERRNO(getrandom(bad_ptr, 16, 0), EFAULT);
    EXPECT_ERRNO(syscall(SYS_getrandom, bad_ptr, 16, 0), EFAULT);
    return finish();
}
