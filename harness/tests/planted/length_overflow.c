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
 * Where: the line marked PLANTED BUG, in handle_message() below. The sockets (listening on
 * 127.0.0.1, accepting, reading and writing whole frames) are planted.h's, and bug-free.
 *
 * Usage: length_overflow PORT   (binds 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#include "planted.h" /* listening, accepting, read_full, write_full */

struct message {
  unsigned char length[2]; /* big-endian, as on the wire */
  unsigned char body[64];
};

/* Answers one message whose body is FRAME[2..]. */
static int handle_message(int fd, const unsigned char* frame) {
  struct message msg;
  size_t len = (size_t)frame[0] << 8 | frame[1];
  memcpy(msg.length, frame, 2);
  memcpy(msg.body, frame + 2, len); /* PLANTED BUG: no check that len <= sizeof msg.body */
  return write_full(fd, (const unsigned char*)&msg, 2 + len); /* one write: no Nagle stall */
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

int main(int argc, char** argv) {
  serve_clients(open_port(argc, argv, "length_overflow", SOCK_STREAM), serve);
}
