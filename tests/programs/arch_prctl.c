/* arch_prctl: the FS base is glibc's thread pointer; FS and GS can be set
 * and read back (FS is restored before any libc call needs TLS); bad codes
 * and pointers are errors. Raw syscalls only while FS is borrowed. */
#include "common.h"
#include <asm/prctl.h>
#include <pthread.h>

static long raw_arch_prctl(long code, unsigned long arg) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "0"(SYS_arch_prctl), "D"(code), "S"(arg) : "rcx", "r11", "memory");
    return ret;
}

static void *volatile bad_ptr = (void *)16;

int main(void) {
    unsigned long fs = 0, gs = 1;
    CHECK(raw_arch_prctl(ARCH_GET_FS, (unsigned long)&fs) == 0);
    CHECK(fs == (unsigned long)pthread_self());
    unsigned long self;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    CHECK(self == fs);
    CHECK(raw_arch_prctl(ARCH_GET_GS, (unsigned long)&gs) == 0);
    printf("initial GS base is zero: %s\n", gs == 0 ? "yes" : "no");

    /* Borrow FS: point it at a block whose first word is a marker. */
    static unsigned long block[64];
    block[0] = 0x1234567890abcdefUL;
    unsigned long seen = 0, got = 0;
    long r1 = raw_arch_prctl(ARCH_SET_FS, (unsigned long)block);
    __asm__ volatile("mov %%fs:0, %0" : "=r"(seen));
    long r2 = raw_arch_prctl(ARCH_GET_FS, (unsigned long)&got);
    long r3 = raw_arch_prctl(ARCH_SET_FS, fs);
    CHECK(r1 == 0 && r2 == 0 && r3 == 0);
    CHECK(seen == 0x1234567890abcdefUL);
    CHECK(got == (unsigned long)block);

    block[1] = 0xfeedUL;
    CHECK(raw_arch_prctl(ARCH_SET_GS, (unsigned long)block) == 0);
    __asm__ volatile("mov %%gs:8, %0" : "=r"(seen));
    CHECK(seen == 0xfeedUL);
    CHECK(raw_arch_prctl(ARCH_GET_GS, (unsigned long)&got) == 0 && got == (unsigned long)block);
    CHECK(raw_arch_prctl(ARCH_SET_GS, 0) == 0);

    CHECK(raw_arch_prctl(0x9999, 0) == -EINVAL);
    CHECK(raw_arch_prctl(ARCH_GET_FS, (unsigned long)bad_ptr) == -EFAULT);
    CHECK(raw_arch_prctl(ARCH_SET_FS, 1UL << 63) == -EPERM);
    return finish();
}
