#include "bottle/core/ipv4_subnet.hpp"

#include <fmt/format.h>

namespace bottle {

namespace {

std::string dotted(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF, a & 0xFF);
}

// A decimal number of 1-3 digits without a leading zero, up to `max`; advances `at`.
std::optional<std::uint32_t> number(std::string_view text, std::size_t& at, std::uint32_t max) {
  const std::size_t from = at;
  std::uint32_t value = 0;
  while (at < text.size() && at - from < 3 && text[at] >= '0' && text[at] <= '9')
    value = value * 10 + static_cast<std::uint32_t>(text[at++] - '0');
  if (at == from || (at - from > 1 && text[from] == '0') || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string Ipv4Subnet::address(std::uint32_t n) const { return dotted(network + n); }

std::string Ipv4Subnet::text() const { return fmt::format("{}/{}", dotted(network), prefix); }

std::optional<Ipv4Subnet> parse_ipv4_subnet(std::string_view text) {
  std::size_t at = 0;
  std::uint32_t address = 0;
  for (int octet = 0; octet < 4; ++octet) {
    const auto value = number(text, at, 255);
    if (!value) return std::nullopt;
    address = (address << 8) | *value;
    const char separator = octet < 3 ? '.' : '/';
    if (at >= text.size() || text[at] != separator) return std::nullopt;
    ++at;
  }
  const auto prefix = number(text, at, 32);
  if (!prefix || at != text.size()) return std::nullopt;
  const std::uint32_t host_mask = *prefix == 0 ? 0xFFFFFFFFu : (std::uint32_t{1} << (32 - *prefix)) - 1;
  if ((address & host_mask) != 0) return std::nullopt;
  return Ipv4Subnet{.network = address, .prefix = static_cast<int>(*prefix)};
}

}  // namespace bottle
