/* planted.h: the socket scaffolding the planted-bug servers share, so that each server's .c file
 * holds only its protocol and its bug.
 *
 * Nothing here is planted: every function checks its lengths and its errors, and a bug a fuzzer
 * finds in a server must be the one its .c file plants. Include this header first, before any
 * system header (it asks for POSIX.1-2008). The functions are `static inline` because each
 * server is built alone from its one .c file (no library to link) and uses only some of them:
 * an unused static inline function draws no -Wunused-function, which -Werror would make fatal.
 */
#ifndef PLANTED_H
#define PLANTED_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The server's socket for `NAME PORT` (ARGV): TYPE is SOCK_STREAM (listening) or SOCK_DGRAM
 * (bound). Only 127.0.0.1: a server with planted bugs must never be reachable from elsewhere.
 * SO_REUSEADDR: tests start the servers again and again on ports just freed. A bad command line
 * or a port that cannot be had ends the process with status 2, not the 1 AddressSanitizer
 * exits with, so that a harness does not take it for the planted bug. */
static inline int open_port(int argc, char** argv, const char* name, int type) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    exit(2);
  }
  /* A client that goes away while it is answered must end that connection (the write fails),
   * not kill the server with SIGPIPE, which a fuzzer would report as a crash. UDP sends never
   * raise it. */
  if (type == SOCK_STREAM) signal(SIGPIPE, SIG_IGN);
  int fd = socket(AF_INET, type, 0), one = 1;
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      (type == SOCK_STREAM && listen(fd, 16) != 0)) {
    fprintf(stderr, "%s: %s: %s\n", name, type == SOCK_STREAM ? "listen" : "bind", strerror(errno));
    exit(2);
  }
  return fd;
}

/* Serves the TCP clients of listening socket LFD one at a time, for good: SERVE talks with one
 * client until it returns, then the connection is closed and the next client accepted. One at a
 * time on purpose: a server stuck on one client then answers nobody, which is how a fuzzer's
 * liveness check (a second client) sees a hang. */
static inline _Noreturn void serve_clients(int lfd, void (*serve)(int fd)) {
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) continue; /* a client that reset before it was accepted: wait for the next */
    serve(fd);
    close(fd);
  }
}

/* Reads exactly LEN bytes into P, whatever pieces they arrive in: 1 when all came, 0 on EOF or an
 * error (the connection is then over). */
static inline int read_full(int fd, unsigned char* p, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

/* Writes all LEN bytes of P (a write may take only part): 1 when all went, 0 on an error. */
static inline int write_full(int fd, const unsigned char* p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

/* Text protocols: a connection's input cut into lines. A line is at most sizeof buf - 1 bytes
 * without its "\n", so whatever a server keeps of a line fits in a buffer of sizeof buf. */
struct line_reader {
  int fd;
  size_t len;  /* bytes in buf */
  size_t used; /* of them, those of the line last returned (dropped at the next call) */
  char buf[1024];
};

static inline void line_reader_start(struct line_reader* r, int fd) {
  r->fd = fd;
  r->len = r->used = 0;
}

/* The next line, NUL-terminated without its "\r\n" (a "\r" before the "\n" is optional); NULL at
 * EOF, on an error or a line too long, which all end the connection. The line lives in R's buffer
 * until the next call. Reads as much as has come, so several lines sent at once are all served. */
static inline char* next_line(struct line_reader* r) {
  memmove(r->buf, r->buf + r->used, r->len - r->used);
  r->len -= r->used;
  r->used = 0;
  for (;;) {
    char* nl = memchr(r->buf, '\n', r->len);
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

#endif
