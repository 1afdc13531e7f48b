/* Writes, deletes and renames files and directories under /etc and /usr. Run only in
 * the sandbox by tests/real_programs.rs, which checks that the host tree is untouched
 * afterwards (natively this would change the host). Each step prints its result. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static int in_dir(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        if (!strcmp(e->d_name, name))
            found = 1;
    if (d)
        closedir(d);
    return found;
}

int main(int argc, char **argv) {
    const char *tag = argc > 1 ? argv[1] : "x";
    char newfile[256], newdir[256], renamed[256];
    snprintf(newfile, sizeof newfile, "/etc/runsc-overlay-%s", tag);
    snprintf(newdir, sizeof newdir, "/usr/runsc-overlay-%s", tag);
    snprintf(renamed, sizeof renamed, "/etc/runsc-overlay-%s.renamed", tag);
    int fd = open(newfile, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0 && write(fd, "inside\n", 7) == 7 && close(fd) == 0);
    CHECK(rename(newfile, renamed) == 0);
    CHECK(access(newfile, F_OK) == -1 && access(renamed, F_OK) == 0);
    CHECK(mkdir(newdir, 0755) == 0 && rmdir(newdir) == 0 && mkdir(newdir, 0700) == 0);
    /* Change existing host files: overwrite, delete, rename. */
    fd = open("/etc/hostname", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "changed\n", 8) == 8 && close(fd) == 0);
    char buf[16] = {0};
    fd = open("/etc/hostname", O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) == 8 && !strcmp(buf, "changed\n"));
    close(fd);
    CHECK(unlink("/etc/passwd") == 0 && access("/etc/passwd", F_OK) == -1 && !in_dir("/etc", "passwd"));
    CHECK(rename("/etc/group", "/etc/group.moved") == 0 && in_dir("/etc", "group.moved") && !in_dir("/etc", "group"));
    CHECK(chmod("/etc/hostname", 0600) == 0);
    struct stat st;
    CHECK(stat("/etc/hostname", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(truncate("/usr/bin/env", 0) == 0 && stat("/usr/bin/env", &st) == 0 && st.st_size == 0);
    /* A directory with lower contents cannot be renamed in an overlay (EXDEV); removing
     * an empty lower directory works. */
    EXPECT_ERRNO(rename("/usr/share", "/usr/share.moved"), EXDEV);
    return finish();
}
