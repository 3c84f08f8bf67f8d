/* zero_frame_hang.c: a test server with a planted bug, for `sockspec fuzz`.
 *
 * Protocol (TCP): a message is a 2-byte big-endian length N, then N bytes of body. The server
 * answers every message with the same frame (the 2-byte length, then the body) and keeps the
 * connection open for the next one. Clients are served one at a time, so a server that is stuck
 * on one client answers nobody else.
 *
 * PLANTED BUG: a hang, not a crash. The body is read without blocking in read() (the author did
 * not want a slow client to park the server inside a read): it takes what has arrived and naps
 * 10 ms when nothing has. The loop's condition `got < len || got == 0` was meant as "read at
 * least once"; for an empty frame (N = 0) it can never become false, since a read of 0 bytes
 * brings nothing and, asking for no bytes, is not taken for the peer's close or an error. So a
 * zero-length frame parks the server in that loop for good: it answers nothing more on that
 * connection, never accepts another client, and stays so after the client closes or resets. It costs little CPU (one
 * recv() and one 10 ms nap per turn), as a real stuck server often does, so only a liveness
 * check (a second client that gets no answer) shows it, not a crash or a busy core. Frames of
 * 1..65535 bytes are answered correctly. It is there to check that a fuzzer notices a server
 * that stopped answering and names the input that stopped it.
 *
 * Usage: zero_frame_hang PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_on(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        perror("zero_frame_hang: listen");
        exit(2);
    }
    return fd;
}

/* Reads the 2-byte header, blocking: 1 when it came, 0 on EOF or an error. */
static int read_header(int fd, unsigned char *p) {
    size_t got = 0;
    while (got < 2) {
        ssize_t n = read(fd, p + got, 2 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

/* Reads the LEN-byte body without blocking in read(): 1 when it came, 0 on EOF or an error. */
static int read_body(int fd, unsigned char *body, size_t len) {
    const struct timespec nap = {0, 10 * 1000 * 1000};
    size_t got = 0;
    while (got < len || got == 0) { /* PLANTED BUG: never false when len == 0 */
        ssize_t n = recv(fd, body + got, len - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (len > got && (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)))
            return 0; /* the peer closed or failed inside the body */
        else
            nanosleep(&nap, NULL); /* nothing yet */
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

static void serve(int fd) {
    static unsigned char frame[2 + 65535]; /* any frame the length field can describe */
    for (;;) {
        if (!read_header(fd, frame)) return;
        size_t len = (size_t)frame[0] << 8 | frame[1];
        if (!read_body(fd, frame + 2, len)) return;
        if (!write_full(fd, frame, 2 + len)) return; /* the echo: the frame as it came */
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
