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
 * Where: the line marked PLANTED BUG, in handle_line() below (the HELLO branch). The sockets
 * (listening on 127.0.0.1, accepting, cutting the input into lines) are planted.h's, and
 * bug-free.
 *
 * Usage: double_hello PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#include "planted.h" /* listening, accepting, next_line */

struct session {
  char name[1024]; /* a line holds at most 1023 bytes (planted.h's line_reader) */
  unsigned long messages;
};

static void reply(int fd, const char* a, const char* b) {
  char out[1200];
  int n = snprintf(out, sizeof out, "%s%s\n", a, b);
  (void)!write(fd, out, (size_t)n); /* short replies: one write, errors end at the next read */
}

/* Answers one line; 0 when the connection is to be closed. */
static int handle_line(int fd, const char* line, struct session** session) {
  if (strncmp(line, "HELLO ", 6) == 0 && line[6] != '\0') {
    if (*session != NULL) {
      free(*session); /* PLANTED BUG: restarts the session but keeps the dangling pointer */
      reply(fd, "WELCOME ", line + 6);
      return 1;
    }
    *session = calloc(1, sizeof **session);
    if (*session == NULL) return 0;
    snprintf((*session)->name, sizeof(*session)->name, "%s", line + 6);
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

/* One client: its lines until it leaves, sends a line too long or says BYE. */
static void serve(int fd) {
  static struct line_reader r;
  struct session* session = NULL; /* none until this connection's HELLO */
  char* line;
  line_reader_start(&r, fd);
  while ((line = next_line(&r)) != NULL && handle_line(fd, line, &session)) {
  }
  free(session); /* after a second HELLO, the double free */
}

int main(int argc, char** argv) {
  serve_clients(open_port(argc, argv, "double_hello", SOCK_STREAM), serve);
}
