#include "bottle/egress/route_value.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "bottle/core/unique_fd.hpp"
#include "core/json_reader.hpp"
#include "core/utf8.hpp"

namespace bottle {

namespace {

constexpr std::size_t max_value_file_bytes = std::size_t{1} << 20;

bool is_array_index(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         (token == "0" || token.front() != '0') && token.size() <= 9;
}

}  // namespace

const boost::json::value& resolve_json_pointer(const boost::json::value& document, std::string_view pointer) {
  if (pointer.empty()) return document;
  const auto tokens = detail::json_pointer_tokens(pointer);
  if (!tokens) throw ValueUnavailable("JSON pointer must start with '/'");
  const boost::json::value* node = &document;
  for (const std::string& token : *tokens) {
    if (const auto* object = node->if_object(); object && object->contains(token)) {
      node = &object->at(token);
    } else if (const auto* array = node->if_array();
               array && is_array_index(token) && std::stoul(token) < array->size()) {
      node = &(*array)[std::stoul(token)];
    } else {
      throw ValueUnavailable("JSON pointer does not resolve");
    }
  }
  return *node;
}

std::string route_value_from_text(std::string_view text, std::string_view json_pointer) {
  if (!decode_utf8(text)) throw ValueUnavailable("value file is not UTF-8");
  std::string value;
  if (!json_pointer.empty()) {
    boost::system::error_code ec;
    const boost::json::value document = boost::json::parse(text, ec);
    if (ec) throw ValueUnavailable("value file is not valid JSON");
    const boost::json::value& named = resolve_json_pointer(document, json_pointer);
    if (!named.is_string()) throw ValueUnavailable("JSON pointer does not name a string");
    value = std::string(named.as_string());
  } else {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    const auto first = std::find_if_not(text.begin(), text.end(), space);
    const auto last = std::find_if_not(text.rbegin(), text.rend(), space).base();
    if (first < last) value.assign(first, last);
  }
  // A header value: non-empty, no control characters (no header injection).
  if (value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
      }))
    throw ValueUnavailable("value is empty or has control characters");
  return value;
}

namespace {

RouteValueFile::Stamp stamp_of(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

[[noreturn]] void unreadable() {
  throw ValueUnavailable(std::string("cannot read value file (") + std::strerror(errno) + ")");
}

}  // namespace

std::string RouteValueFile::read() {
  // Every request asks; an unchanged file costs one stat.
  struct stat st {};
  if (stamp_ && ::stat(path_.c_str(), &st) == 0 && stamp_of(st) == stamp_) return value_;
  // Opened once and read through the same descriptor, so the stamp and the text are
  // of the same file even while the host renames a new one into place.
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) unreadable();
  if (::fstat(fd.get(), &st) != 0) unreadable();
  const Stamp stamp = stamp_of(st);
  if (stamp_ == stamp) return value_;
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) unreadable();
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_value_file_bytes) throw ValueUnavailable("value file is larger than 1 MiB");
  }
  value_ = route_value_from_text(text, json_pointer_);
  stamp_ = stamp;
  return value_;
}

}  // namespace bottle
