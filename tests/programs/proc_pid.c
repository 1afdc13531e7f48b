/* /proc/self and /proc/<pid>: stat, status, cmdline, environ, maps, exe, cwd, root,
 * fd/, fdinfo/N, mounts, mountinfo, limits, auxv, comm (and PR_SET_NAME), statm.
 * Compares relations with what the syscalls say, never raw pids or addresses. */
#define _GNU_SOURCE
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char text[1 << 16];

static long slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long len = 0;
    ssize_t n;
    while ((n = read(fd, text + len, sizeof text - 1 - len)) > 0)
        len += n;
    close(fd);
    text[len] = 0;
    return n < 0 ? -1 : len;
}

static int status_ids(const char *key, long want) {
    char k[32];
    snprintf(k, sizeof k, "\n%s:\t", key);
    char *p = strstr(text, k);
    long a, b, c, d;
    if (!p)
        return 0;
    int n = sscanf(p + strlen(k), "%ld %ld %ld %ld", &a, &b, &c, &d);
    return n == 1 ? a == want : n == 4 && a == want && b == want && c == want && d == want;
}

static int comm_is(const char *want) {
    char w[32], got[32] = {0};
    snprintf(w, sizeof w, "%s\n", want);
    prctl(PR_GET_NAME, got);
    return slurp("/proc/self/comm") > 0 && !strcmp(text, w) && !strcmp(got, want);
}

int main(int argc, char **argv, char **envp) {
    char dir[] = "/tmp/pp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    char path[4200], buf[4200], self[64];
    snprintf(self, sizeof self, "/proc/%d", getpid());

    /* stat: pid (comm) state ppid pgrp session ... */
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/stat", i ? self : "/proc/self");
        CHECK(slurp(path) > 0);
        int pid = 0, ppid = 0;
        char comm[32] = {0}, state = 0;
        CHECK(sscanf(text, "%d (%31[^)]) %c %d", &pid, comm, &state, &ppid) == 4);
        CHECK(pid == getpid() && state == 'R' && ppid == getppid());
        char *close_paren = strrchr(text, ')');
        int fields = 2;
        for (char *p = close_paren + 1; *p; p++)
            if (*p == ' ')
                fields++;
        CHECK(fields >= 52);
    }
    /* statm: seven numbers, size >= resident. */
    long size, resident, shared, textp, lib, data, dt;
    CHECK(slurp("/proc/self/statm") > 0);
    CHECK(sscanf(text, "%ld %ld %ld %ld %ld %ld %ld", &size, &resident, &shared, &textp, &lib, &data, &dt) == 7);
    CHECK(size > 0 && resident > 0 && size >= resident);

    /* status */
    snprintf(path, sizeof path, "%s/status", self);
    CHECK(slurp(path) > 0);
    CHECK(!strncmp(text, "Name:\t", 6));
    CHECK(strstr(text, "\nState:\tR (running)\n") != NULL);
    CHECK(status_ids("Pid", getpid()) && status_ids("Tgid", getpid()) && status_ids("PPid", getppid()));
    CHECK(status_ids("Uid", getuid()) && status_ids("Gid", getgid()));
    CHECK(strstr(text, "\nVmRSS:") != NULL && strstr(text, "\nThreads:\t1\n") != NULL);

    /* cmdline: argv joined by NULs. */
    long n = slurp("/proc/self/cmdline");
    long want = 0;
    int same = 1;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        if (want + (long)l > n || memcmp(text + want, argv[i], l))
            same = 0;
        want += l;
    }
    CHECK(same && n == want);

    /* environ: the initial environment, NUL-separated; later setenv does not show. */
    setenv("ADDED_LATER", "1", 1);
    n = slurp("/proc/self/environ");
    want = 0;
    same = 1;
    for (char **e = envp; *e; e++) {
        size_t l = strlen(*e) + 1;
        if (want + (long)l > n || memcmp(text + want, *e, l))
            same = 0;
        want += l;
    }
    CHECK(same && n == want);
    int has_var = 0, has_later = 0;
    for (char *p = text; p < text + n; p += strlen(p) + 1) {
        if (!strcmp(p, "RUNSC_TEST_VAR=differential value = 42"))
            has_var = 1;
        if (!strncmp(p, "ADDED_LATER=", 12))
            has_later = 1;
    }
    CHECK(has_var && !has_later);

    /* exe and maps: the binary's text and the stack are mapped. */
    char exe[4096] = {0};
    CHECK(readlink("/proc/self/exe", exe, sizeof exe - 1) > 0 && exe[0] == '/');
    snprintf(path, sizeof path, "%s/exe", self);
    CHECK(readlink(path, buf, sizeof buf) == (ssize_t)strlen(exe) && !memcmp(buf, exe, strlen(exe)));
    CHECK(slurp("/proc/self/maps") > 0);
    int exe_text = 0, stack = 0, lines = 0;
    unsigned long here = (unsigned long)&main, sp = (unsigned long)&n;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char perms[8];
        int off = 0;
        if (sscanf(line, "%lx-%lx %7s %*x %*x:%*x %*u%n", &lo, &hi, perms, &off) < 3)
            continue;
        lines++;
        while (line[off] == ' ')
            off++;
        const char *name = line + off;
        if (!strcmp(name, exe) && perms[2] == 'x' && lo <= here && here < hi)
            exe_text = 1;
        if (!strcmp(name, "[stack]") && lo <= sp && sp < hi && !strcmp(perms, "rw-p"))
            stack = 1;
    }
    CHECK(lines > 3 && exe_text && stack);

    /* cwd and root */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    CHECK(!strcmp(buf, cwd));
    n = readlink("/proc/self/root", buf, sizeof buf - 1);
    CHECK(n == 1 && buf[0] == '/');

    /* fd/ and fdinfo/ */
    int fd = open("data", O_CREAT | O_RDWR | O_APPEND, 0644);
    CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10 && lseek(fd, 3, SEEK_SET) == 3);
    int fd2 = open("data", O_RDONLY | O_CLOEXEC);
    int has[3] = {0}, has_fd = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int k = atoi(e->d_name);
        if (e->d_name[0] != '.' && k < 3)
            has[k] = 1;
        if (e->d_name[0] != '.' && k == fd && e->d_type == DT_LNK)
            has_fd = 1;
    }
    if (d)
        closedir(d);
    CHECK(has[0] && has[1] && has[2] && has_fd);
    snprintf(path, sizeof path, "%s/fd/%d", self, fd);
    n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    char full[4200];
    snprintf(full, sizeof full, "%s/data", cwd);
    CHECK(!strcmp(buf, full));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    for (int i = 0; i < 2; i++) {
        int f = i ? fd2 : fd;
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", f);
        CHECK(slurp(path) > 0);
        long long pos = -1;
        unsigned flags = 0;
        unsigned long ino = 0;
        char *p = strstr(text, "pos:\t"), *q = strstr(text, "\nflags:\t"), *r = strstr(text, "\nino:\t");
        CHECK(p == text && sscanf(p + 5, "%lld", &pos) == 1 && pos == lseek(f, 0, SEEK_CUR));
        CHECK(q && sscanf(q + 8, "%o", &flags) == 1);
        printf("fdinfo %d flags: %#o\n", i, flags);
        CHECK(strstr(text, "\nmnt_id:\t") != NULL);
        CHECK(r && sscanf(r + 6, "%lu", &ino) == 1 && ino == st.st_ino);
    }
    close(fd2);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd2);
    EXPECT_ERRNO(open(path, O_RDONLY), ENOENT);
    CHECK(stat("/proc/self/fdinfo", &st) == 0 && S_ISDIR(st.st_mode));

    /* limits */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(slurp("/proc/self/limits") > 0 && !strncmp(text, "Limit ", 6));
    char *mof = strstr(text, "\nMax open files");
    unsigned long long soft = 0, hard = 0;
    CHECK(mof && sscanf(mof + 15, "%llu %llu", &soft, &hard) == 2 && soft == rl.rlim_cur && hard == rl.rlim_max);
    CHECK(strstr(text, "\nMax stack size ") != NULL && strstr(text, "\nMax realtime timeout ") != NULL);

    /* auxv: pairs that getauxval agrees with, ending in AT_NULL. */
    n = slurp("/proc/self/auxv");
    unsigned long *av = (unsigned long *)text;
    long pairs = n / 16, agree = 1, pagesz = 0, ended = 0;
    for (long i = 0; i < pairs; i++) {
        if (av[2 * i] == AT_NULL) {
            ended = 1;
            break;
        }
        /* (glibc's getauxval answers AT_HWCAP* from its own variables.) */
        if (av[2 * i] != AT_HWCAP && av[2 * i] != AT_HWCAP2 && getauxval(av[2 * i]) != av[2 * i + 1])
            agree = 0;
        if (av[2 * i] == AT_PAGESZ)
            pagesz = av[2 * i + 1];
    }
    CHECK(n > 0 && n % 16 == 0 && ended && agree && pagesz == 4096);

    /* comm: the basename of argv[0], at most 15 bytes; PR_SET_NAME and writes change it. */
    char base[16] = {0};
    strncpy(base, basename(argv[0]), 15);
    CHECK(comm_is(base));
    CHECK(prctl(PR_SET_NAME, "newname") == 0);
    CHECK(comm_is("newname"));
    EXPECT_ERRNO(prctl(PR_SET_NAME, (char *)1), EFAULT);
    EXPECT_ERRNO(prctl(PR_GET_NAME, (char *)1), EFAULT);
    CHECK(comm_is("newname"));
    CHECK(prctl(PR_SET_NAME, "a-very-long-name-indeed") == 0);
    CHECK(comm_is("a-very-long-nam"));
    fd = open("/proc/self/comm", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "written", 7) == 7);
    close(fd);
    CHECK(comm_is("written"));
    CHECK(slurp("/proc/self/stat") > 0 && strstr(text, " (written) R ") != NULL);

    /* mounts and mountinfo: /proc is a proc mount in both. */
    CHECK(slurp("/proc/self/mounts") > 0 && strstr(text, " /proc proc ") != NULL);
    CHECK(slurp("/proc/mounts") > 0 && strstr(text, " /proc proc ") != NULL);
    CHECK(slurp("/proc/self/mountinfo") > 0);
    int proc_line = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int id, parent, maj, min, off = 0;
        char root[256], at[256];
        if (sscanf(line, "%d %d %d:%d %255s %255s%n", &id, &parent, &maj, &min, root, at, &off) == 6 &&
            !strcmp(at, "/proc") && strstr(line + off, " - proc "))
            proc_line = 1;
    }
    CHECK(proc_line);

    unlink("data");
    CHECK(chdir("/") == 0 && rmdir(dir) == 0);
    return finish();
}
