/* Scribbles at every 256 MiB step of the top 4 TiB of the address space (where the
 * platform's stub region lives): tries to map there, to make the kernel write there, and
 * finally stores to the highest page directly. Run only in the sandbox by
 * tests/real_programs.rs: mappings at or above the stub must be refused, syscalls must
 * give EFAULT, and the final store must kill the program with SIGSEGV. Prints a summary
 * line before the store. */
#include "common.h"
#include <sys/mman.h>

/* The program's own mappings (stack, vDSO…) may sit in the probed range: probes that
 * land in or just below one are skipped. */
static unsigned long lo[256], hi[256];
static int nmaps;

static void read_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    while (nmaps < 256 && fscanf(f, "%lx-%lx%*[^\n]", &lo[nmaps], &hi[nmaps]) == 2)
        nmaps++;
    fclose(f);
}

/* Whether `a` is in one of the program's own mappings, or within the reach of a stack
 * growing down into it (up to the 1 GiB the sandbox allows for RLIMIT_STACK, plus the
 * guard gap): a kernel access there may legitimately grow the stack. */
static int mine(unsigned long a) {
    const unsigned long reach = (1UL << 30) + (1UL << 20);
    for (int i = 0; i < nmaps; i++)
        if (a < hi[i] && a + reach >= lo[i])
            return 1;
    return 0;
}

int main(void) {
    read_maps();
    const unsigned long top = 0x7ffffffff000UL, span = 4UL << 40, step = 256UL << 20;
    long mapped = 0, refused = 0, efault = 0, wrote = 0;
    for (unsigned long a = top - span; a < top; a += step) {
        void *p = mmap((void *)a, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) {
            refused++;
        } else {
            /* A mapping the sandbox granted is ordinary memory. */
            *(volatile char *)p = 1;
            mapped++;
            munmap(p, 4096);
        }
        /* Ask the kernel to read from and write to the address. */
        if (mine(a + 4096))
            continue;
        if (write(1, (void *)(a + 4096), 1) == -1 && errno == EFAULT)
            efault++;
        else
            wrote++;
        if (read(0, (void *)(a + 4096), 1) == -1 && errno == EFAULT)
            efault++;
    }
    printf("mapped %ld refused %ld efault %ld other %ld\n", mapped, refused, efault, wrote);
    fflush(stdout);
    *(volatile char *)(top) = 1;
    return 0;
}
