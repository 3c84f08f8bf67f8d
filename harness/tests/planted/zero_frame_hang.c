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
 * connection, never accepts another client, and stays so after the client closes or resets. It
 * costs little CPU (one recv() and one 10 ms nap per turn), as a real stuck server often does, so
 * only a liveness check (a second client that gets no answer) shows it, not a crash or a busy core.
 * Frames of 1..65535 bytes are answered correctly. It is there to check that a fuzzer notices a
 * server that stopped answering and names the input that stopped it.
 *
 * Where: the line marked PLANTED BUG, in read_body() below. The sockets (listening on
 * 127.0.0.1, accepting, the blocking read of the header, writing the echo whole) are
 * planted.h's, and bug-free.
 *
 * Usage: zero_frame_hang PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#include <time.h>

#include "planted.h" /* listening, accepting, read_full, write_full */

/* Reads the LEN-byte body without blocking in read(): 1 when it came, 0 on EOF or an error. */
static int read_body(int fd, unsigned char* body, size_t len) {
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

static void serve(int fd) {
  static unsigned char frame[2 + 65535]; /* any frame the length field can describe */
  for (;;) {
    if (!read_full(fd, frame, 2)) return; /* the header, blocking */
    size_t len = (size_t)frame[0] << 8 | frame[1];
    if (!read_body(fd, frame + 2, len)) return;
    if (!write_full(fd, frame, 2 + len)) return; /* the echo: the frame as it came */
  }
}

int main(int argc, char** argv) {
  serve_clients(open_port(argc, argv, "zero_frame_hang", SOCK_STREAM), serve);
}
