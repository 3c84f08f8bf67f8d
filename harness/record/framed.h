// `sockspec record --frame`: a recorded stream cut into whole messages, each written as typed
// parts whose header fields say what they are (a length_of the body, a varint remaining
// length) so the recording reads like the protocol's spec. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.h"
#include "codec/parts.h"

namespace sockspec::record {

// The whole messages at the front of `buf`, taken out of it. Stops at an incomplete message
// (left in `buf`) or at a bad frame (everything left in `buf`, `bad` set).
std::vector<std::string> take_messages(const codec::Frame& f, std::string& buf, bool& bad);

// One message as parts. A body longer than `max_body` is matched by its length only (`rest`).
codec::Parts message_parts(const codec::Frame& f, std::string_view message, uint64_t max_body);

}  // namespace sockspec::record
