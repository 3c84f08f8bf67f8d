/* udp_truncated.c: a test server with a planted bug, for `sockspec fuzz`.
 *
 * Protocol (UDP): a datagram is an 8-byte header, big-endian: u16 type, u16 id, u32 body length
 * L; then the body. The server answers the sender with one datagram: the same 8-byte header,
 * then the L bytes of the body with a-z upper-cased (every other byte unchanged). Bytes after
 * the L-byte body are ignored; a datagram under 8 bytes (no whole header) is dropped unanswered,
 * and so is one whose L is over 65535.
 *
 * PLANTED BUG: each datagram is received into a heap buffer of exactly its size (its size is
 * peeked first with MSG_PEEK | MSG_TRUNC), and the body is upper-cased over the header's L bytes
 * without checking that the datagram holds them. A datagram shorter than 8 + L (its body cut
 * short, or L made larger) reads past the end of the buffer (AddressSanitizer:
 * heap-buffer-overflow, a READ in answer). A datagram whose L is right is answered correctly. It
 * is there to check that a fuzzer that truncates a datagram or changes its length field finds a
 * crash over UDP, where no connection breaks to tell it the server died.
 *
 * Where: the line marked PLANTED BUG, in answer() below. Binding the socket on 127.0.0.1 is
 * planted.h's; receiving each datagram into its exact-size buffer is here, in main().
 *
 * Usage: udp_truncated PORT   (binds UDP 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#include <ctype.h>
#include <stdint.h>

#include "planted.h" /* binding the socket */

/* Answers the datagram IN (a whole header at least) to PEER. */
static void answer(int fd, const unsigned char* in, const struct sockaddr_in* peer) {
  static unsigned char out[8 + 65535];
  uint32_t length = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
  if (length > sizeof out - 8) return; /* more than any datagram could hold */
  memcpy(out, in, 8);
  for (uint32_t i = 0; i < length; i++) /* PLANTED BUG: trusts length, not the datagram's size */
    out[8 + i] = (unsigned char)toupper(in[8 + i]);
  (void)!sendto(fd, out, 8 + (size_t)length, 0, (const struct sockaddr*)peer, sizeof *peer);
}

int main(int argc, char** argv) {
  int fd = open_port(argc, argv, "udp_truncated", SOCK_DGRAM);
  for (;;) {
    unsigned char small[8];
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    ssize_t size = recv(fd, small, 1, MSG_PEEK | MSG_TRUNC); /* the datagram's real size */
    if (size < 0) continue;
    if (size < 8) { /* no whole header: drop it */
      (void)!recv(fd, small, sizeof small, 0);
      continue;
    }
    unsigned char* in = malloc((size_t)size); /* exactly the datagram */
    if (in == NULL) {
      (void)!recv(fd, small, sizeof small, 0);
      continue;
    }
    ssize_t n = recvfrom(fd, in, (size_t)size, 0, (struct sockaddr*)&peer, &peer_len);
    if (n == size) answer(fd, in, &peer);
    free(in);
  }
}
