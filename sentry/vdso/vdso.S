/* The sentry's vDSO: the functions Linux's x86-64 vDSO exports, each making the real
 * system call (served by the sentry). Correct, not fast: a time page read without a
 * trap is a later step. Built by ../build.rs into a shared object the loader maps. */

#define VDSO_FN(name, nr)          \
    .globl __vdso_##name;          \
    .type __vdso_##name, @function; \
    .weak name;                    \
    .set name, __vdso_##name;      \
__vdso_##name:                     \
    .cfi_startproc;                \
    mov $nr, %eax;                 \
    syscall;                       \
    ret;                           \
    .cfi_endproc;                  \
    .size __vdso_##name, . - __vdso_##name

    .text
VDSO_FN(clock_gettime, 228)
VDSO_FN(gettimeofday, 96)
VDSO_FN(time, 201)
VDSO_FN(getcpu, 309)
VDSO_FN(clock_getres, 229)

    .section .note.GNU-stack, "", @progbits
