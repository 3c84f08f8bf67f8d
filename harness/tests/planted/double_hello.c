/* double_hello.c: a test server with a planted bug, for `sockspec fuzz`.
 *
 * Protocol (TCP, text, lines end in "\n", an optional "\r" before it is ignored):
 *     HELLO <name>   -> WELCOME <name>      starts the connection's session
 *     DATA <x>       -> OK <x>              (ERR no session before a HELLO)
 *     BYE            -> BYE                 and the server closes the connection
 *     anything else  -> ERR unknown command
 * A line longer than 1023 bytes closes the connection. Clients are served one at a time.
 *
 * PLANTED BUG: a second HELLO on the same connection is meant to restart the session, but the
 * restart path frees the session and keeps the pointer (it neither clears it nor makes a new
 * session). The next DATA then counts the message in freed memory (AddressSanitizer:
 * heap-use-after-free in handle_line, reading the counter); a BYE or a disconnect after the
 * second HELLO frees it again instead (attempting double-free). One HELLO per connection, as a
 * well-behaved client sends, never reaches it. It is there to check that a fuzzer that repeats
 * or reorders the messages of a conversation finds a state bug that no single message shows.
 *
 * Usage: double_hello PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
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

struct session {
    char name[1024]; /* a line holds at most 1023 bytes */
    unsigned long messages;
};

struct reader {
    int fd;
    size_t len, used;
    char buf[1024];
};

static int listen_on(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
        perror("double_hello: listen");
        exit(2);
    }
    return fd;
}

/* The next line, NUL-terminated without its "\r\n"; NULL at EOF, on an error or a line too long. */
static char *next_line(struct reader *r) {
    memmove(r->buf, r->buf + r->used, r->len - r->used);
    r->len -= r->used;
    r->used = 0;
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl) {
            *nl = '\0';
            if (nl > r->buf && nl[-1] == '\r') nl[-1] = '\0';
            r->used = (size_t)(nl - r->buf) + 1;
            return r->buf;
        }
        if (r->len == sizeof r->buf) return NULL;
        ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return NULL;
        r->len += (size_t)n;
    }
}

static void reply(int fd, const char *a, const char *b) {
    char out[1200];
    int n = snprintf(out, sizeof out, "%s%s\n", a, b);
    (void)!write(fd, out, (size_t)n); /* short replies: one write, errors end at the next read */
}

/* Answers one line; 0 when the connection is to be closed. */
static int handle_line(int fd, const char *line, struct session **session) {
    if (strncmp(line, "HELLO ", 6) == 0 && line[6] != '\0') {
        if (*session != NULL) {
            free(*session); /* PLANTED BUG: restarts the session but keeps the dangling pointer */
            reply(fd, "WELCOME ", line + 6);
            return 1;
        }
        *session = calloc(1, sizeof **session);
        if (*session == NULL) return 0;
        snprintf((*session)->name, sizeof (*session)->name, "%s", line + 6);
        reply(fd, "WELCOME ", (*session)->name);
    } else if (strncmp(line, "DATA ", 5) == 0) {
        if (*session == NULL) {
            reply(fd, "ERR no session", "");
            return 1;
        }
        (*session)->messages++;
        reply(fd, "OK ", line + 5);
    } else if (strcmp(line, "BYE") == 0) {
        reply(fd, "BYE", "");
        return 0;
    } else {
        reply(fd, "ERR unknown command", "");
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(argv[1]);
    for (;;) {
        static struct reader r;
        struct session *session = NULL;
        char *line;
        r.fd = accept(lfd, NULL, NULL);
        if (r.fd < 0) continue;
        r.len = r.used = 0;
        while ((line = next_line(&r)) != NULL && handle_line(r.fd, line, &session)) {
        }
        free(session);
        close(r.fd);
    }
}
