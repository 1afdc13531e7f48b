/* A name that was looked up and found missing appears as soon as it is made, by
 * every way of making it: open(O_CREAT), mkdir, mknod (fifo), symlink, link,
 * rename onto it, and bind of a unix socket; and it is missing again after
 * unlink, rmdir or a rename away. Each name is first looked up twice (stat and
 * access) while missing. Runs in a fresh directory under the current one. */
#include "common.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static void missing_twice(const char *p) {
    struct stat st;
    EXPECT_ERRNO(stat(p, &st), ENOENT);
    EXPECT_ERRNO(access(p, F_OK), ENOENT);
}

static void present(const char *p, const char *how) {
    struct stat st;
    int ok = lstat(p, &st) == 0;
    printf("%-22s %s\n", how, ok ? "visible" : "MISSING");
    CHECK(ok);
}

int main(void) {
    char dir[64];
    snprintf(dir, sizeof dir, "neg.%d", (int)getpid());
    CHECK(mkdir(dir, 0755) == 0);
    CHECK(chdir(dir) == 0);

    missing_twice("f");
    int fd = open("f", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    present("f", "open(O_CREAT)");

    missing_twice("d");
    CHECK(mkdir("d", 0755) == 0);
    present("d", "mkdir");
    missing_twice("d/inner");
    CHECK(mkdir("d/inner", 0755) == 0);
    present("d/inner", "mkdir in a subdir");

    missing_twice("p");
    CHECK(mknod("p", S_IFIFO | 0644, 0) == 0);
    present("p", "mknod fifo");

    missing_twice("s");
    CHECK(symlink("f", "s") == 0);
    present("s", "symlink");

    missing_twice("l");
    CHECK(link("f", "l") == 0);
    present("l", "link");

    missing_twice("r");
    CHECK(rename("l", "r") == 0);
    present("r", "rename onto");
    missing_twice("l");

    missing_twice("sock");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "sock");
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    present("sock", "bind");
    close(s);

    /* Made missing again, then made again. */
    CHECK(unlink("f") == 0);
    missing_twice("f");
    fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    present("f", "created again");
    CHECK(rmdir("d/inner") == 0);
    missing_twice("d/inner");
    CHECK(mkdir("d/inner", 0700) == 0);
    present("d/inner", "mkdir again");

    /* A name missing under a directory that is renamed stays missing there, and
     * appears when made under the new name. */
    missing_twice("d/x");
    CHECK(rename("d", "e") == 0);
    missing_twice("e/x");
    CHECK(mkdir("e/x", 0755) == 0);
    present("e/x", "mkdir after rename");

    const char *all[] = {"f", "p", "s", "r", "sock"};
    for (unsigned i = 0; i < sizeof all / sizeof *all; i++)
        CHECK(unlink(all[i]) == 0);
    CHECK(rmdir("e/x") == 0 && rmdir("e/inner") == 0 && rmdir("e") == 0);
    CHECK(chdir("..") == 0 && rmdir(dir) == 0);
    return finish();
}
