// Coverage feedback: the map a server built with clang's trace-pc-guard and our runtime
// (harness/coverage_runtime/) fills while the fuzzer runs it. The fuzzer creates the map,
// names it in the server's environment, and after each input asks which slots are new.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sockspec_coverage;

namespace sockspec::fuzzer {

class Coverage {
 public:
  // A fresh map (POSIX shared memory); nullptr with `error` set when none can be made.
  static std::unique_ptr<Coverage> create(std::string& error);
  ~Coverage();
  Coverage(const Coverage&) = delete;
  Coverage& operator=(const Coverage&) = delete;

  const std::string& name() const { return name_; }  // for the server's environment
  bool attached() const;                             // the server's runtime mapped it
  uint32_t edges() const;                            // instrumented edges in the server
  size_t reached() const { return reached_; }        // slots marked so far, by any input
  // Slots marked since the last call that no earlier input marked (and remembers them); their
  // indices are appended to `slots` when given (the jobs of a campaign pool them: one binary
  // numbers its edges the same way in every process).
  size_t take_new(std::vector<uint32_t>* slots = nullptr);

 private:
  Coverage(std::string name, sockspec_coverage* map) : name_(std::move(name)), map_(map) {}
  std::string name_;
  sockspec_coverage* map_;
  std::vector<uint8_t> seen_;
  size_t reached_ = 0;
};

}  // namespace sockspec::fuzzer
