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
 * Where: the line marked PLANTED BUG, in run_command() below. The sockets (listening on
 * 127.0.0.1, accepting, cutting the input into lines) are planted.h's, and bug-free.
 *
 * Usage: token_login PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#include <fcntl.h>

#include "planted.h" /* listening, accepting, next_line */

static void reply(int fd, const char* a, const char* b, size_t blen) {
  char out[1100];
  size_t alen = strlen(a);
  memcpy(out, a, alen);
  memcpy(out + alen, b, blen);
  out[alen + blen] = '\n';
  (void)!write(fd, out,
               alen + blen + 1); /* short replies: one write, errors end at the next read */
}

static void new_token(char token[9]) {
  unsigned char raw[4] = {0};
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) exit(3);
  close(fd);
  snprintf(token, 9, "%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
}

/* CMD's work, once the token was checked: answers DONE <arg>. */
static void run_command(int fd, const char* arg) {
  char copy[32]; /* sized for the short arguments the author had in mind */
  size_t len = strlen(arg);
  memcpy(copy, arg, len); /* PLANTED BUG: no check that len <= sizeof copy */
  reply(fd, "DONE ", copy, len);
}

static void handle_line(int fd, char* line, char token[9]) {
  if (strncmp(line, "LOGIN ", 6) == 0 && line[6] != '\0') {
    new_token(token);
    reply(fd, "TOKEN ", token, 8);
  } else if (strncmp(line, "CMD ", 4) == 0) {
    char *given = line + 4, *space = strchr(given, ' ');
    const char* arg = "";
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

/* One client: its lines until it leaves or sends a line too long. */
static void serve(int fd) {
  static struct line_reader r;
  char token[9] = ""; /* empty until this connection logs in */
  char* line;
  line_reader_start(&r, fd);
  while ((line = next_line(&r)) != NULL) handle_line(fd, line, token);
}

int main(int argc, char** argv) {
  serve_clients(open_port(argc, argv, "token_login", SOCK_STREAM), serve);
}
