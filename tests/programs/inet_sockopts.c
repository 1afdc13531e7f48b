/* Socket options of TCP and UDP sockets, IPv4 and IPv6: what they read before
 * and after being set, their sizes, the errors for bad values, read-only
 * options, unknown options and levels, short buffers. Run under
 * --network=host and none. */
#include "common.h"
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

static void get(int s, int level, int opt, const char *name) {
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(s, level, opt, &v, &l) != 0)
        printf("get %s: %s\n", name, errname(errno));
    else
        printf("get %s: %d (len %u)\n", name, v, l);
}

static void set(int s, int level, int opt, int v, const char *name) {
    if (setsockopt(s, level, opt, &v, sizeof v) != 0)
        printf("set %s=%d: %s\n", name, v, errname(errno));
    else
        printf("set %s=%d: ok\n", name, v);
}

#define GET(s, l, o) get(s, l, o, #o)
#define SET(s, l, o, v) set(s, l, o, v, #o)

static void common(int s) {
    GET(s, SOL_SOCKET, SO_TYPE);
    GET(s, SOL_SOCKET, SO_DOMAIN);
    GET(s, SOL_SOCKET, SO_PROTOCOL);
    GET(s, SOL_SOCKET, SO_ACCEPTCONN);
    GET(s, SOL_SOCKET, SO_ERROR);
    GET(s, SOL_SOCKET, SO_REUSEADDR);
    SET(s, SOL_SOCKET, SO_REUSEADDR, 1);
    GET(s, SOL_SOCKET, SO_REUSEADDR);
    GET(s, SOL_SOCKET, SO_REUSEPORT);
    SET(s, SOL_SOCKET, SO_REUSEPORT, 1);
    GET(s, SOL_SOCKET, SO_REUSEPORT);
    GET(s, SOL_SOCKET, SO_KEEPALIVE);
    SET(s, SOL_SOCKET, SO_KEEPALIVE, 1);
    GET(s, SOL_SOCKET, SO_KEEPALIVE);
    SET(s, SOL_SOCKET, SO_SNDBUF, 8192);
    GET(s, SOL_SOCKET, SO_SNDBUF);
    SET(s, SOL_SOCKET, SO_RCVBUF, 8192);
    GET(s, SOL_SOCKET, SO_RCVBUF);
    SET(s, SOL_SOCKET, SO_SNDBUF, 1);
    GET(s, SOL_SOCKET, SO_SNDBUF);
    SET(s, SOL_SOCKET, SO_RCVBUF, 1);
    GET(s, SOL_SOCKET, SO_RCVBUF);
    SET(s, SOL_SOCKET, SO_TYPE, 1);
    SET(s, SOL_SOCKET, SO_ERROR, 1);
    SET(s, SOL_SOCKET, 9999, 1);
    GET(s, SOL_SOCKET, 9999);
    struct linger lg = {1, 5}, lg2;
    socklen_t l = sizeof lg2;
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    CHECK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l) == 0);
    printf("SO_LINGER %d %d (len %u)\n", lg2.l_onoff, lg2.l_linger, l);
    struct timeval tv = {2, 0}, tv2;
    l = sizeof tv2;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    CHECK(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l) == 0);
    printf("SO_RCVTIMEO %ld.%06ld (len %u)\n", (long)tv2.tv_sec, (long)tv2.tv_usec, l);
    tv.tv_usec = 2000000;
    EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM);
    short small = 1;
    EXPECT_ERRNO(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &small, sizeof small), EINVAL);
    char c[2];
    l = sizeof c;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, c, &l) == 0);
    printf("SO_TYPE into 2 bytes: len %u\n", l);
    EXPECT_ERRNO(getsockopt(s, SOL_SOCKET, SO_TYPE, c, &(socklen_t){-1}), EINVAL);
    GET(s, IPPROTO_IP, IP_TTL);
    SET(s, IPPROTO_IP, IP_TTL, 32);
    GET(s, IPPROTO_IP, IP_TTL);
    SET(s, IPPROTO_IP, IP_TTL, 0);
    SET(s, IPPROTO_IP, IP_TTL, -1);
    GET(s, IPPROTO_IP, IP_TTL);
    SET(s, IPPROTO_IP, IP_TOS, 0x10);
    GET(s, IPPROTO_IP, IP_TOS);
    SET(s, IPPROTO_IP, 9999, 1);
    GET(s, IPPROTO_IP, 9999);
    SET(s, 9999, 1, 1);
    GET(s, 9999, 1);
}

static void tcp(int family) {
    int s = socket(family, SOCK_STREAM, 0);
    printf("-- TCP, family %d\n", family);
    common(s);
    GET(s, IPPROTO_TCP, TCP_NODELAY);
    SET(s, IPPROTO_TCP, TCP_NODELAY, 1);
    GET(s, IPPROTO_TCP, TCP_NODELAY);
    GET(s, IPPROTO_TCP, TCP_KEEPIDLE);
    SET(s, IPPROTO_TCP, TCP_KEEPIDLE, 60);
    GET(s, IPPROTO_TCP, TCP_KEEPIDLE);
    SET(s, IPPROTO_TCP, TCP_KEEPIDLE, 0);
    GET(s, IPPROTO_TCP, TCP_KEEPINTVL);
    SET(s, IPPROTO_TCP, TCP_KEEPINTVL, 40000);
    GET(s, IPPROTO_TCP, TCP_KEEPCNT);
    SET(s, IPPROTO_TCP, TCP_KEEPCNT, 200);
    SET(s, IPPROTO_TCP, TCP_KEEPCNT, 3);
    GET(s, IPPROTO_TCP, TCP_KEEPCNT);
    GET(s, IPPROTO_TCP, TCP_MAXSEG);
    SET(s, IPPROTO_TCP, 9999, 1);
    GET(s, IPPROTO_TCP, 9999);
    CHECK(listen(s, 1) == 0);
    GET(s, SOL_SOCKET, SO_ACCEPTCONN);
    close(s);
}

static void udp(int family) {
    int s = socket(family, SOCK_DGRAM, 0);
    printf("-- UDP, family %d\n", family);
    common(s);
    SET(s, IPPROTO_TCP, TCP_NODELAY, 1);
    GET(s, IPPROTO_TCP, TCP_NODELAY);
    close(s);
}

static void v6only(void) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    printf("-- IPv6 only\n");
    GET(s, IPPROTO_IPV6, IPV6_V6ONLY);
    SET(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    GET(s, IPPROTO_IPV6, IPV6_V6ONLY);
    GET(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    SET(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 300);
    SET(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7);
    GET(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    SET(s, IPPROTO_IPV6, 9999, 1);
    GET(s, IPPROTO_IPV6, 9999);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    SET(s, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    close(s);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    SET(t, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    GET(t, IPPROTO_IPV6, IPV6_V6ONLY);
    close(t);
}

int main(void) {
    tcp(AF_INET);
    tcp(AF_INET6);
    udp(AF_INET);
    udp(AF_INET6);
    v6only();
    return finish();
}
