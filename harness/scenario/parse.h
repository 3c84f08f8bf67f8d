// Suite files: JSON text to the typed model, with every problem reported at once. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/fields.h"
#include "scenario/model.h"

namespace sockspec::scenario {

struct ParseResult {
  std::optional<Suite> suite;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// `file` names the source in messages and in the model.
ParseResult parse_suite(std::string_view json_text, const std::string& file);

// Step lists that share one connection scope, parsed in order: a load profile's setup,
// iteration and teardown (conns opened in setup are used by the iteration). An absent list
// (null pointer) is empty. ${client} is defined (the virtual user's index), and so is ${i} in
// the list at index `numbered` (a load profile's iteration: its number on the virtual user).
struct StepListsParse {
  std::vector<Steps> lists;
  std::vector<Diagnostic> errors;
};
StepListsParse parse_step_lists(
    const std::vector<std::pair<const nlohmann::json*, std::string>>& lists,
    const std::string& file, Transport transport, std::optional<size_t> numbered = std::nullopt);

}  // namespace sockspec::scenario
