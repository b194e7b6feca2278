#pragma once
// A route's real value, as bottle-egress reads it from the host file named by the
// route (value_file, optionally value_json_pointer): the same rules as today's egress
// addon. The file is read again only when it changes (device, inode, size, mtime or
// ctime), so a host-side refresh, in place or by atomic rename, is seen on the next
// request. Every failure is ValueUnavailable with a reason that never holds the value.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include <boost/json/fwd.hpp>

#include "bottle/egress/credential_swap.hpp"

namespace bottle {

/// RFC 6901: "" is the whole document; "/a/0/b~1c" walks objects and arrays (array
/// indexes: ASCII digits without a leading zero). ValueUnavailable when it does not
/// resolve or does not start with '/'.
const boost::json::value& resolve_json_pointer(const boost::json::value& document, std::string_view pointer);

/// The value in a value file's text: with a pointer, the JSON string it names; else
/// the text without surrounding ASCII whitespace. ValueUnavailable unless it is valid
/// UTF-8, non-empty, and free of control characters (it goes into a header).
std::string route_value_from_text(std::string_view text, std::string_view json_pointer);

class RouteValueFile {
 public:
  RouteValueFile(std::filesystem::path path, std::string json_pointer)
      : path_(std::move(path)), json_pointer_(std::move(json_pointer)) {}
  /// The current value (cached while the file is unchanged).
  std::string read();

  /// What "unchanged" compares: device, inode, size, mtime and ctime (ns).
  using Stamp = std::tuple<std::uint64_t, std::uint64_t, std::int64_t, std::int64_t, std::int64_t>;

 private:
  std::filesystem::path path_;
  std::string json_pointer_;
  std::optional<Stamp> stamp_;
  std::string value_;
};

}  // namespace bottle
