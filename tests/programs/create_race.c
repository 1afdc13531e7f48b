/* Eight processes released together each create a file of their own in the
 * current directory (which, in the sandbox, is a host directory that has not
 * been copied up to the writable layer yet: the first creations race to copy
 * it up). Every creation must succeed and every file must then be seen by all. */
#include "common.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define N 8

int main(void) {
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        fflush(stdout);
        kids[i] = fork();
        if (kids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(3);
            char name[32];
            snprintf(name, sizeof name, "race.%d", i);
            int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
            if (fd < 0) {
                printf("child %d: open: %s\n", i, strerror(errno));
                fflush(stdout);
                _exit(1);
            }
            if (write(fd, name, strlen(name)) != (ssize_t)strlen(name))
                _exit(2);
            close(fd);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]); /* releases every child at once */
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int st;
        CHECK(waitpid(kids[i], &st, 0) == kids[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    printf("children that failed: %d\n", bad);
    int seen = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "race.%d", i);
        struct stat st;
        if (stat(name, &st) == 0 && st.st_size == (off_t)strlen(name))
            seen++;
        unlink(name);
    }
    printf("files seen with their contents: %d of %d\n", seen, N);
    return finish();
}
