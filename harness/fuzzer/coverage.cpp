#include "fuzzer/coverage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "sockspec-coverage.h"

namespace sockspec::fuzzer {

std::unique_ptr<Coverage> Coverage::create(std::string& error) {
  // Named by our pid and a random number: campaigns side by side never share one (O_EXCL
  // would say so).
  static_assert(SOCKSPEC_COVERAGE_SLOTS % 8 == 0, "take_new() scans the map 8 bytes at a time");
  std::string name = "/sockspec-coverage-" + std::to_string(getpid()) + "-" +
                     std::to_string(std::random_device{}());
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    error = "shm_open " + name + ": " + std::strerror(errno);
    return nullptr;
  }
  if (ftruncate(fd, sizeof(sockspec_coverage)) != 0) {
    error = "ftruncate " + name + ": " + std::strerror(errno);
    ::close(fd);
    shm_unlink(name.c_str());
    return nullptr;
  }
  void* p = mmap(nullptr, sizeof(sockspec_coverage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int mmap_errno = errno;
  ::close(fd);
  if (p == MAP_FAILED) {
    error = "mmap " + name + ": " + std::strerror(mmap_errno);
    shm_unlink(name.c_str());
    return nullptr;
  }
  auto c = std::unique_ptr<Coverage>(new Coverage(name, static_cast<sockspec_coverage*>(p)));
  c->seen_.assign(SOCKSPEC_COVERAGE_SLOTS, 0);
  return c;
}

Coverage::~Coverage() {
  munmap(map_, sizeof(sockspec_coverage));
  shm_unlink(name_.c_str());
}

bool Coverage::attached() const {
  return __atomic_load_n(&map_->magic, __ATOMIC_RELAXED) == SOCKSPEC_COVERAGE_MAGIC;
}

uint32_t Coverage::edges() const { return __atomic_load_n(&map_->edges, __ATOMIC_RELAXED); }

size_t Coverage::take_new(std::vector<uint32_t>* slots) {
  // The server writes while we read: a slot marked mid-scan is counted now or next time.
  size_t fresh = 0;
  const uint8_t* hit = map_->hit;
  for (size_t i = 0; i < SOCKSPEC_COVERAGE_SLOTS; i += 8) {
    uint64_t word;
    std::memcpy(&word, hit + i, 8);
    if (word == 0) continue;  // most of the map, most of the time
    for (size_t j = i; j < i + 8; ++j) {
      if (hit[j] && !seen_[j]) {
        seen_[j] = 1;
        ++fresh;
        if (slots) slots->push_back(static_cast<uint32_t>(j));
      }
    }
  }
  reached_ += fresh;
  return fresh;
}

}  // namespace sockspec::fuzzer
