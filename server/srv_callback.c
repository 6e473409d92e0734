/*
 * srv_callback.c - a minimal HTTP client for the ready callback (see srv_callback.h).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "srv_callback.h"

/* Split "http://host[:port][/path]" (IPv6 hosts in brackets). */
static int split_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
                     const char **path)
{
    const char *p = url + 7, *end, *colon = NULL;

    if (strncmp(url, "http://", 7) != 0) return -1;
    end = p + strcspn(p, "/?#");
    *path = *end == '/' ? end : "/";
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) return -1;
        if ((size_t)(rb - p - 1) >= hcap) return -1;
        memcpy(host, p + 1, (size_t)(rb - p - 1));
        host[rb - p - 1] = '\0';
        if (rb[1] == ':') colon = rb + 1;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        const char *hend = colon ? colon : end;
        if ((size_t)(hend - p) >= hcap || hend == p) return -1;
        memcpy(host, p, (size_t)(hend - p));
        host[hend - p] = '\0';
    }
    if (colon) {
        if ((size_t)(end - colon - 1) >= pcap || end == colon + 1) return -1;
        memcpy(port, colon + 1, (size_t)(end - colon - 1));
        port[end - colon - 1] = '\0';
    } else {
        snprintf(port, pcap, "80");
    }
    return 0;
}

int srv_http_post(const char *url, const char *body, unsigned timeout_s, char *msg, size_t cap)
{
    char host[256], port[16], req_head[1024], resp[512];
    const char *path;
    struct addrinfo hints = {0}, *ai = NULL, *a;
    struct timeval tv = {(time_t)timeout_s, 0};
    int fd = -1, rc, status = 0;
    size_t got = 0, len = strlen(body);

    if (split_url(url, host, sizeof host, port, sizeof port, &path) != 0) {
        snprintf(msg, cap, "bad callback URL '%s' (expected http://host[:port]/path)", url);
        return -1;
    }
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(msg, cap, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    for (a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        /* on Linux SO_SNDTIMEO also bounds connect(), SO_RCVTIMEO bounds each recv() */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        snprintf(msg, cap, "cannot connect to %s:%s: %s", host, port, strerror(errno));
        return -1;
    }
    snprintf(req_head, sizeof req_head,
             "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\nUser-Agent: worker-orcd\r\n\r\n",
             path, host, port, len);
    if (send(fd, req_head, strlen(req_head), MSG_NOSIGNAL) < 0 ||
        send(fd, body, len, MSG_NOSIGNAL) < 0) {
        snprintf(msg, cap, "sending to %s failed: %s", url, strerror(errno));
        close(fd);
        return -1;
    }
    /* only the status line matters */
    while (got < sizeof resp - 1) {
        ssize_t n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
        resp[got] = '\0';
        if (strstr(resp, "\r\n")) break;
    }
    close(fd);
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1) {
        snprintf(msg, cap, "no HTTP answer from %s", url);
        return -1;
    }
    if (status < 200 || status > 299) {
        snprintf(msg, cap, "%s answered HTTP %d", url, status);
        return -1;
    }
    return 0;
}
