#include "load/pipeline_steps.h"

namespace sockspec::load {

std::optional<PipelineSteps> pipeline_steps(const scenario::Steps& it, uint64_t default_timeout_ms,
                                            std::string& why) {
  const auto* send = it.size() == 2 ? std::get_if<scenario::SendOp>(&it[0].op) : nullptr;
  const auto* expect = it.size() == 2 ? std::get_if<scenario::ExpectOp>(&it[1].op) : nullptr;
  if (!send || !expect) {
    why = "needs an iteration of exactly one send followed by one expect";
  } else if (send->conn != expect->conn) {
    why = "needs the send and the expect on the same conn";
  } else if (send->repeat != 1 || send->to || send->expect_error || expect->from ||
             expect->capture_from || expect->expect_error) {
    why = "needs a plain send and expect (no repeat, to, from or expect_error)";
  } else {
    return PipelineSteps{&it[0], &it[1], "0", "1", it[1].timeout_ms.value_or(default_timeout_ms)};
  }
  return std::nullopt;
}

}  // namespace sockspec::load
