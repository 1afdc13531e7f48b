/* More than 1 MiB to stdout (a pipe in the harness): 1 MiB with write(2),
 * handling short writes, then 512 KiB of lines through stdio. The byte count
 * and a checksum go to stderr; the harness compares all of stdout too. */
#include "common.h"

int main(void) {
    static char block[1 << 20];
    unsigned long sum = 0, total = 0;
    for (size_t i = 0; i < sizeof block; i++) {
        block[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i * 7) % 26);
        sum = sum * 31 + (unsigned char)block[i];
    }
    size_t off = 0;
    while (off < sizeof block) {
        ssize_t n = write(1, block + off, sizeof block - off);
        if (n <= 0) {
            fprintf(stderr, "write failed: %s\n", errname(errno));
            return 2;
        }
        off += (size_t)n;
    }
    total += off;
    for (int line = 0; line < 8192; line++) {
        char l[64];
        int n = snprintf(l, sizeof l, "line %06d %s\n", line, "0123456789abcdefghijklmnopqrstuvwxyz0123456789");
        n = n > 63 ? 63 : n;
        l[n - 1] = '\n';
        fwrite(l, 1, (size_t)n, stdout);
        for (int i = 0; i < n; i++)
            sum = sum * 31 + (unsigned char)l[i];
        total += (unsigned long)n;
    }
    fflush(stdout);
    fprintf(stderr, "wrote %lu bytes, checksum %016lx\n", total, sum);
    return 0;
}
