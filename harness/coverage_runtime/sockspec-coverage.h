/* The map a server built for `sockspec fuzz` shares with it: which edges of the server's code
 * its inputs reached. sockspec creates it (POSIX shared memory) and names it in the server's
 * environment; sockspec-coverage.c, linked into the server, fills it. C, so that both sides
 * include it. */
#ifndef SOCKSPEC_COVERAGE_H
#define SOCKSPEC_COVERAGE_H

#include <stdint.h>

#define SOCKSPEC_COVERAGE_ENV "SOCKSPEC_COVERAGE" /* the shared memory object's name */
#define SOCKSPEC_COVERAGE_MAGIC 0x76637373u       /* "sscv": the server's runtime mapped it */
#define SOCKSPEC_COVERAGE_SLOTS 65536u            /* edges beyond this share slots */

struct sockspec_coverage {
  uint32_t magic;                       /* set by the runtime when it maps the object */
  uint32_t edges;                       /* instrumented edges in the server (all its modules) */
  uint8_t hit[SOCKSPEC_COVERAGE_SLOTS]; /* 1: an edge of this slot ran */
};

#endif
