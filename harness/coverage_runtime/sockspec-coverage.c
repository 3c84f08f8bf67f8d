/* Coverage runtime for servers fuzzed by `sockspec fuzz` (docs/fuzz.md). Build the server
 * with clang and link this file in:
 *
 *   clang -fsanitize=address -fsanitize-coverage=trace-pc-guard server.c sockspec-coverage.c
 *
 * clang calls __sanitizer_cov_trace_pc_guard on every edge of the instrumented code. Under
 * `sockspec fuzz --server-cmd` the server's environment names a shared memory object (see
 * sockspec-coverage.h); this file maps it and marks each edge that runs, so the fuzzer keeps
 * the inputs that reach new code. Without that variable (or when the object cannot be mapped)
 * the marks go to a private array: the server runs as usual. Forked children share the map. */
#include "sockspec-coverage.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sockspec_coverage sockspec_private_map;
static struct sockspec_coverage* sockspec_map = &sockspec_private_map;
static uint32_t sockspec_next_edge;

static void sockspec_attach(void) {
  static int tried;
  if (tried) return;
  tried = 1;
  const char* name = getenv(SOCKSPEC_COVERAGE_ENV);
  if (!name || !*name) return;
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) return;
  void* p = mmap(NULL, sizeof(struct sockspec_coverage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return;
  sockspec_map = (struct sockspec_coverage*)p;
  sockspec_map->magic = SOCKSPEC_COVERAGE_MAGIC;
}

/* Once per instrumented module, before main: numbers its edges 1, 2, ... after the modules
 * before it. The numbers depend only on the binary, so a restarted server marks the same
 * slots. Slot 0 is never marked: a guard of 0 means "not numbered". */
void __sanitizer_cov_trace_pc_guard_init(uint32_t* start, uint32_t* stop) {
  sockspec_attach();
  if (start == stop || *start) return;
  for (uint32_t* g = start; g < stop; ++g) {
    ++sockspec_next_edge;
    *g = 1 + (sockspec_next_edge - 1) % (SOCKSPEC_COVERAGE_SLOTS - 1);
  }
  sockspec_map->edges = sockspec_next_edge;
}

void __sanitizer_cov_trace_pc_guard(uint32_t* guard) {
  /* A plain store: the fuzzer only asks whether a slot was ever marked. */
  sockspec_map->hit[*guard] = 1;
}
