/* /proc/self: cwd and fd links, the fd directory listing, reopening a file through
 * /proc/self/fd, exe is absolute, stat's pid and comm fields, status Name/Pid lines,
 * cmdline contents. Compares relations, never raw pids. In a scratch dir. */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <fcntl.h>

int main(int argc, char **argv) {
    char dir[] = "/tmp/ps-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    char buf[4096], cwd[4096];
    ssize_t n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = 0;
    CHECK(getcwd(cwd, sizeof cwd) && !strcmp(buf, cwd));
    int fd = open("data", O_CREAT | O_RDWR, 0644);
    CHECK(write(fd, "proc", 4) == 4);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    char want[4200];
    snprintf(want, sizeof want, "%s/data", dir);
    CHECK(!strcmp(buf, want));
    int again = open(link, O_RDONLY);
    char got[8] = {0};
    CHECK(again >= 0 && read(again, got, 4) == 4 && !strcmp(got, "proc"));
    /* The fd directory lists exactly the open descriptors. */
    DIR *d = opendir("/proc/self/fd");
    int count = 0, has_fd = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        if (atoi(e->d_name) == fd)
            has_fd = 1;
    }
    closedir(d);
    /* (The count depends on what the parent left open; only its lower bound is checked.) */
    printf("fd dir lists the open file: %s; at least 0-2 and 2 files: %s\n", has_fd ? "yes" : "no", count >= 6 ? "yes" : "no");
    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    CHECK(n > 0 && buf[0] == '/');
    /* stat: "pid (comm) state ..." */
    int sf = open("/proc/self/stat", O_RDONLY);
    n = read(sf, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    int pid = 0;
    char comm[64] = {0}, state = 0;
    CHECK(sscanf(buf, "%d (%63[^)]) %c", &pid, comm, &state) == 3);
    CHECK(pid == getpid());
    printf("stat comm: %s, state R or S: %s\n", comm, state == 'R' || state == 'S' ? "yes" : "no");
    close(sf);
    FILE *st = fopen("/proc/self/status", "r");
    char line[256];
    int name_ok = 0, pid_ok = 0;
    while (fgets(line, sizeof line, st)) {
        if (!strncmp(line, "Name:", 5) && strstr(line, comm))
            name_ok = 1;
        int p;
        if (sscanf(line, "Pid: %d", &p) == 1 && p == getpid())
            pid_ok = 1;
    }
    fclose(st);
    CHECK(name_ok && pid_ok);
    int cf = open("/proc/self/cmdline", O_RDONLY);
    n = read(cf, buf, sizeof buf);
    CHECK(n > 0 && !strcmp(buf, argv[0]));
    printf("cmdline argc matches: %s\n", argc == 1 && (size_t)n == strlen(argv[0]) + 1 ? "yes" : "no");
    close(cf);
    close(fd);
    close(again);
    unlink("data");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
