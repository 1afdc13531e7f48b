/* Sandbox-only (tests/cli.rs): connects to 127.0.0.1:PORT, sends a line and
 * prints what happened, to show whether the sandbox's loopback is the host's
 * (--network=host) or its own (--network=none). */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        printf("connect: %s\n", errname(errno));
        return 0;
    }
    const char msg[] = "hello from the sandbox\n";
    if (write(s, msg, sizeof msg - 1) != (ssize_t)(sizeof msg - 1)) {
        printf("write: %s\n", errname(errno));
        return 0;
    }
    close(s);
    printf("connected\n");
    return 0;
}
