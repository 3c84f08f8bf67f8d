/* length_overflow.c: a test server with a planted bug, for `sockspec fuzz`.
 *
 * Protocol (TCP): a message is a 2-byte big-endian length N, then N bytes of body. The server
 * answers every message with the same frame (the 2-byte length, then the body) and keeps the
 * connection open for the next one. Clients are served one at a time, so a server that is stuck
 * on one client answers nobody else.
 *
 * PLANTED BUG: the handler keeps a message in a struct with a fixed 64-byte body ("messages are at
 * most 64 bytes", the imagined spec says) and copies the body into it without checking N, so any
 * message longer than 64 bytes overflows the stack (AddressSanitizer: stack-buffer-overflow, a
 * WRITE in memcpy from handle_message). Lengths 0..64 are answered correctly. It is there to check
 * that a fuzzer that grows a length-prefixed block (or the length field with it) finds a crash
 * and reports the input that caused it.
 *
 * Usage: length_overflow PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct message {
    unsigned char length[2]; /* big-endian, as on the wire */
    unsigned char body[64];
};

static int listen_on(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        perror("length_overflow: listen");
        exit(2);
    }
    return fd;
}

/* 1 when all LEN bytes were read, 0 on EOF or an error. */
static int read_full(int fd, unsigned char *p, size_t len) {
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static int write_full(int fd, const unsigned char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Answers one message whose body is FRAME[2..]. */
static int handle_message(int fd, const unsigned char *frame) {
    struct message msg;
    size_t len = (size_t)frame[0] << 8 | frame[1];
    memcpy(msg.length, frame, 2);
    memcpy(msg.body, frame + 2, len); /* PLANTED BUG: no check that len <= sizeof msg.body */
    return write_full(fd, (const unsigned char *)&msg, 2 + len); /* one write: no Nagle stall */
}

static void serve(int fd) {
    static unsigned char frame[2 + 65535]; /* any frame the length field can describe */
    for (;;) {
        if (!read_full(fd, frame, 2)) return;
        size_t len = (size_t)frame[0] << 8 | frame[1];
        if (!read_full(fd, frame + 2, len)) return;
        if (!handle_message(fd, frame)) return;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(argv[1]);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        serve(fd);
        close(fd);
    }
}
