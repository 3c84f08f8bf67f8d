// Which senders an `expect` on a datagram socket accepts: the conn's peer, a named address,
// any port of one host ("HOST:*"), or anyone ("any").
#pragma once

#include <optional>
#include <string>

#include "engine/context.h"
#include "net/address.h"
#include "scenario/model.h"

namespace sockspec::engine {

struct SenderRule {
  enum class Kind { exact, any_port, any };
  Kind kind = Kind::exact;
  net::SockAddr addr;  // exact: the address; any_port: its host (port ignored)
  bool accepts(const net::SockAddr& from) const;
  std::string describe() const;  // "127.0.0.1:69", "127.0.0.1:*", "any sender"
};

struct SenderOr {
  SenderRule rule;
  std::string error;
};
// `from` of an expect (the conn's `peer` when there is none), its variables expanded.
SenderOr resolve_sender(const std::optional<scenario::Template>& from, const net::SockAddr& peer,
                        const scenario::VarValues& vars, const Target& target);

}  // namespace sockspec::engine
