// What a seed case is made of, for the mutator: its literals (the dictionary), a send's payload
// as parts whose bytes can change, the steps around the mutated one, the connections steps use.
// Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scenario/model.h"

namespace sockspec::fuzzer {

inline constexpr size_t kMaxBytes = 65536;  // a mutated payload never grows past this

// Literals of the suites (texts, hex strings, delimiters), spliced into mutated bytes.
struct Dictionary {
  std::vector<std::string> tokens;
};
Dictionary collect_dictionary(const std::vector<scenario::Suite>& suites);

// The steps after the mutated one: their waits (expect, expect_eof, silence, sleep) are left
// out, since they rarely match a mutated exchange and a fuzzer that waited them out would run
// a few inputs a second; an expect that captures a value a later step needs stays, waiting
// this long at most.
inline constexpr uint64_t kTailTimeoutMs = 100;

// A send's payload as parts whose literal bytes can be changed in place: literal bytes and a
// text become bytes parts, each ${...} of a text stays a text part of its own. nullopt for a
// payload that cannot be (a text in another charset with variables, a fill over 64 KiB).
std::optional<codec::Parts> as_parts(const scenario::Payload& p, uint64_t run_seed);

// The tail after step `at` as above (`nested`: a repeat's or parallel's body, only capped).
void trim_tail(scenario::Steps& steps, size_t at, bool nested);

// Leaves out the top-level steps before `end` that only wait (expect_silence, sleep): the
// exchange that sets the server's state (the expects, the captures) stays. Returns how many
// steps were left out.
size_t drop_waits(scenario::Steps& steps, size_t end);

// A bytes part holding `bytes`.
codec::Part bytes_part(std::string bytes);
// The bytes of a part that holds bytes with no ${...}; nullopt for any other part.
std::optional<std::string> plain_bytes(const codec::Part& p);
// A payload's bytes when it has no variables and no typed fields.
std::optional<std::string> fixed_bytes(const scenario::Payload& p, uint64_t run_seed);
// The conn of a send or an expect (nullptr for other steps).
const char* conn_of(const scenario::Step& s);
// Any op on `conn` (a close, a shutdown, an expect of its end).
bool uses_conn(const scenario::Step& s, const std::string& conn);
// A step that makes a connection or a socket (connect, open, listen, accept).
bool opens_conn(const scenario::Step& s);
// The largest value an unsigned integer of `width` bytes holds.
uint64_t width_max(unsigned width);

}  // namespace sockspec::fuzzer
