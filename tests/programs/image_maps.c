/* The loaded image as /proc/self/maps shows it: the program's segments (and, when
 * dynamically linked, the loader's and libc's) are mappings of their files with
 * the segments' permissions, then the heap and the stack ([vvar], [vdso] and
 * [vsyscall] differ between kernels and are skipped). Initialised data holds
 * its values, the bss (a small one sharing the last data page and a large one)
 * is zero, and a write to initialised data stays private: a fresh exec of the
 * same file sees the original value. */
#include "common.h"
#include <string.h>

static int data_word = 0x5eed;
static char data_tail[100] = "tail of data";
static char small_bss[64];
static char big_bss[1 << 20];

static int all_zero(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("fresh exec: data_word %#x, bss zero: %s\n", data_word,
               all_zero(big_bss, sizeof big_bss) ? "yes" : "no");
        return data_word == 0x5eed ? 0 : 1;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n > 0 ? n : 0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        /* start-end perms offset dev inode name */
        char perms[8] = "", name[4096] = "";
        unsigned long long a, b, off, ino;
        char dev[16];
        int k = sscanf(line, "%llx-%llx %7s %llx %15s %llu %4095[^\n]", &a, &b, perms, &off, dev, &ino, name);
        if (k < 6) {
            CHECK(k >= 6);
            continue;
        }
        char *nm = name;
        while (*nm == ' ')
            nm++;
        if (!strncmp(nm, "[vvar", 5) || !strcmp(nm, "[vdso]") || !strcmp(nm, "[vsyscall]"))
            continue;
        printf("%s %s\n", perms, !strcmp(nm, self) ? "<self>" : nm);
    }
    if (f)
        fclose(f);
    printf("data_word %#x, data_tail \"%s\"\n", data_word, data_tail);
    CHECK(all_zero(small_bss, sizeof small_bss));
    CHECK(all_zero(big_bss, sizeof big_bss));
    data_word = 0xbad;
    big_bss[12345] = 1;
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "again", (char *)NULL);
    CHECK(!"exec failed");
    return finish();
}
