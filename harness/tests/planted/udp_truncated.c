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
 * Usage: udp_truncated PORT   (binds UDP 127.0.0.1:PORT; build with -fsanitize=address,undefined)
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bind_on(const char *port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("udp_truncated: bind");
        exit(2);
    }
    return fd;
}

/* Answers the datagram IN (a whole header at least) to PEER. */
static void answer(int fd, const unsigned char *in, const struct sockaddr_in *peer) {
    static unsigned char out[8 + 65535];
    uint32_t length = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
    if (length > sizeof out - 8) return; /* more than any datagram could hold */
    memcpy(out, in, 8);
    for (uint32_t i = 0; i < length; i++) /* PLANTED BUG: trusts length, not the datagram's size */
        out[8 + i] = (unsigned char)toupper(in[8 + i]);
    (void)!sendto(fd, out, 8 + (size_t)length, 0, (const struct sockaddr *)peer, sizeof *peer);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int fd = bind_on(argv[1]);
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
        unsigned char *in = malloc((size_t)size); /* exactly the datagram */
        if (in == NULL) {
            (void)!recv(fd, small, sizeof small, 0);
            continue;
        }
        ssize_t n = recvfrom(fd, in, (size_t)size, 0, (struct sockaddr *)&peer, &peer_len);
        if (n == size) answer(fd, in, &peer);
        free(in);
    }
}
