/* Opens argv[1] argv[2] times and reads it; prints how many opens succeeded and whether
 * any read returned text containing argv[3]. Used by tests/real_programs.rs while the
 * test swaps a directory on the path for a symlink to outside the root. */
#include "common.h"
#include <fcntl.h>

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    long n = strtol(argv[2], NULL, 10), ok = 0, leaked = 0;
    for (long i = 0; i < n; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0)
            continue;
        char buf[256] = {0};
        if (read(fd, buf, sizeof buf - 1) > 0) {
            ok++;
            if (strstr(buf, argv[3]))
                leaked++;
        }
        close(fd);
    }
    printf("opened %ld leaked %ld\n", ok, leaked);
    return 0;
}
