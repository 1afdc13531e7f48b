/* System V message queues: messages by type (first, exact, MSG_EXCEPT, lowest up to a
 * type), E2BIG and MSG_NOERROR, IPC_NOWAIT, queue statistics, a receiver woken by
 * another process's send, a sender waiting for room, EIDRM on removal, and errors. */
#include "common.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>

struct m {
    long mtype;
    char text[64];
};

static int send(int q, long type, const char *s, int flags) {
    struct m b;
    b.mtype = type;
    strcpy(b.text, s);
    return msgsnd(q, &b, strlen(s) + 1, flags);
}

static long recv(int q, long type, int flags, struct m *b) {
    memset(b, 0, sizeof *b);
    return msgrcv(q, b, sizeof b->text, type, flags);
}

static void sleep_ms(long ms) {
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
}

int main(void) {
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(q >= 0);
    struct msqid_ds ds;
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    CHECK(ds.msg_qnum == 0 && ds.__msg_cbytes == 0 && ds.msg_qbytes == 16384);
    CHECK(ds.msg_lspid == 0 && ds.msg_lrpid == 0 && ds.msg_stime == 0 && ds.msg_ctime != 0);

    CHECK(send(q, 3, "three", 0) == 0);
    CHECK(send(q, 1, "one", 0) == 0);
    CHECK(send(q, 2, "two", 0) == 0);
    CHECK(send(q, 1, "uno", 0) == 0);
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    CHECK(ds.msg_qnum == 4 && ds.__msg_cbytes == 6 + 4 + 4 + 4 && ds.msg_lspid == getpid());

    struct m b;
    CHECK(recv(q, 2, 0, &b) == 4 && b.mtype == 2 && strcmp(b.text, "two") == 0);
    CHECK(recv(q, -2, 0, &b) == 4 && b.mtype == 1 && strcmp(b.text, "one") == 0);
    CHECK(recv(q, 1, MSG_EXCEPT, &b) == 6 && b.mtype == 3);
    CHECK(recv(q, 0, 0, &b) == 4 && strcmp(b.text, "uno") == 0);
    EXPECT_ERRNO(recv(q, 0, IPC_NOWAIT, &b), ENOMSG);
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    CHECK(ds.msg_qnum == 0 && ds.__msg_cbytes == 0 && ds.msg_lrpid == getpid() && ds.msg_rtime != 0);

    /* Too long for the buffer: E2BIG and the message stays; MSG_NOERROR cuts it. */
    CHECK(send(q, 5, "a longer message", 0) == 0);
    struct m small;
    EXPECT_ERRNO(msgrcv(q, &small, 4, 0, 0), E2BIG);
    CHECK(msgrcv(q, &small, 4, 0, MSG_NOERROR) == 4 && memcmp(small.text, "a lo", 4) == 0);
    EXPECT_ERRNO(recv(q, 5, IPC_NOWAIT, &b), ENOMSG);

    /* A receiver waits until another process sends. */
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(30);
        _exit(send(q, 7, "late", 0) == 0 ? 0 : 1);
    }
    CHECK(recv(q, 7, 0, &b) == 5 && strcmp(b.text, "late") == 0);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* A full queue makes a sender wait for room. */
    CHECK(msgctl(q, IPC_STAT, &ds) == 0);
    ds.msg_qbytes = 10;
    CHECK(msgctl(q, IPC_SET, &ds) == 0);
    CHECK(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 10);
    CHECK(send(q, 1, "123456789", 0) == 0);
    EXPECT_ERRNO(send(q, 1, "x", IPC_NOWAIT), EAGAIN);
    pid = fork();
    if (pid == 0)
        _exit(send(q, 2, "next", 0) == 0 ? 0 : 1);
    sleep_ms(30);
    CHECK(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1);
    CHECK(recv(q, 1, 0, &b) == 10);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(recv(q, 0, 0, &b) == 5 && b.mtype == 2);

    /* Removal wakes a waiting receiver with EIDRM. */
    pid = fork();
    if (pid == 0) {
        errno = 0;
        long r = recv(q, 0, 0, &b);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    sleep_ms(100);
    CHECK(msgctl(q, IPC_RMID, NULL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    EXPECT_ERRNO(send(q, 1, "gone", 0), EINVAL);

    /* Keys and errors. */
    key_t key = 0x5c000000 | (getpid() & 0xffff);
    int k = msgget(key, IPC_CREAT | 0600);
    CHECK(k >= 0 && msgget(key, 0) == k);
    EXPECT_ERRNO(msgget(key, IPC_CREAT | IPC_EXCL), EEXIST);
    EXPECT_ERRNO(msgget(key + 1, 0), ENOENT);
    EXPECT_ERRNO(send(k, 0, "bad type", 0), EINVAL);
    EXPECT_ERRNO(send(k, -1, "bad type", 0), EINVAL);
    static struct {
        long mtype;
        char text[9000];
    } huge = {1, {0}};
    EXPECT_ERRNO(msgsnd(k, &huge, 8193, 0), EINVAL);
    CHECK(msgsnd(k, &huge, 8192, 0) == 0);
    EXPECT_ERRNO(msgsnd(k, (void *)8, 4, 0), EFAULT);
    EXPECT_ERRNO(msgrcv(-1, &b, 4, 0, 0), EINVAL);
    EXPECT_ERRNO(msgctl(k, 99, &ds), EINVAL);
    EXPECT_ERRNO(msgctl(k, IPC_STAT, (void *)8), EFAULT);
    CHECK(msgctl(k, IPC_RMID, NULL) == 0);
    EXPECT_ERRNO(msgctl(k, IPC_RMID, NULL), EINVAL);
    return finish();
}
