/* token_login.c: a test server with a planted bug, for `sockspec fuzz`.
 *
 * Protocol (TCP, text, lines end in "\n", an optional "\r" before it is ignored):
 *     LOGIN <user>         -> TOKEN <8 random lowercase hex digits>   (a new token each time)
 *     CMD <token> <arg>    -> DONE <arg>   with this connection's current token
 *                          -> DENIED       with any other token, or before a LOGIN
 *     anything else        -> ERR unknown command
 * A token is good only on the connection that logged in. A line longer than 1023 bytes closes
 * the connection. Clients are served one at a time.
 *
 * PLANTED BUG: a command's argument is copied into a 32-byte stack buffer without a length
 * check, so a CMD with the right token and an argument longer than 32 bytes overflows it
 * (AddressSanitizer: stack-buffer-overflow, a WRITE in memcpy from run_command). The check of the
 * token comes first, so the same line with a wrong or stale token is harmless DENIED. It is
 * there to check that a fuzzer keeps a captured value valid: it has to replay the LOGIN, send
 * back the token the server made up this time, and mutate only what follows it.
 *
 * Usage: token_login PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
        perror("token_login: listen");
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

static void reply(int fd, const char *a, const char *b, size_t blen) {
    char out[1100];
    size_t alen = strlen(a);
    memcpy(out, a, alen);
    memcpy(out + alen, b, blen);
    out[alen + blen] = '\n';
    (void)!write(fd, out, alen + blen + 1); /* short replies: one write, errors end at the next read */
}

static void new_token(char token[9]) {
    unsigned char raw[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) exit(3);
    close(fd);
    snprintf(token, 9, "%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
}

/* CMD's work, once the token was checked: answers DONE <arg>. */
static void run_command(int fd, const char *arg) {
    char copy[32];                  /* sized for the short arguments the author had in mind */
    size_t len = strlen(arg);
    memcpy(copy, arg, len);         /* PLANTED BUG: no check that len <= sizeof copy */
    reply(fd, "DONE ", copy, len);
}

static void handle_line(int fd, char *line, char token[9]) {
    if (strncmp(line, "LOGIN ", 6) == 0 && line[6] != '\0') {
        new_token(token);
        reply(fd, "TOKEN ", token, 8);
    } else if (strncmp(line, "CMD ", 4) == 0) {
        char *given = line + 4, *space = strchr(given, ' ');
        const char *arg = "";
        if (space != NULL) {
            *space = '\0';
            arg = space + 1;
        }
        if (token[0] != '\0' && strcmp(given, token) == 0)
            run_command(fd, arg);
        else
            reply(fd, "DENIED", "", 0);
    } else {
        reply(fd, "ERR unknown command", "", 0);
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
        static struct reader r;
        char token[9] = ""; /* empty until this connection logs in */
        char *line;
        r.fd = accept(lfd, NULL, NULL);
        if (r.fd < 0) continue;
        r.len = r.used = 0;
        while ((line = next_line(&r)) != NULL) handle_line(r.fd, line, token);
        close(r.fd);
    }
}
