#include "bottle/egress/system_roots.hpp"

#include <algorithm>

#include "core/ascii_text.hpp"

namespace bottle {

namespace {

bool is_hash_link_name(const std::string& name) {
  constexpr std::size_t hash_digits = 8;
  if (name.size() < hash_digits + 2 || name[hash_digits] != '.') return false;
  const auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  return std::all_of(name.begin(), name.begin() + hash_digits, is_hex) &&
         std::all_of(name.begin() + hash_digits + 1, name.end(), is_digit);
}

}  // namespace

SystemRoots choose_system_roots(const std::optional<std::string>& file_override,
                                const std::optional<std::string>& dir_override, const std::string& default_file,
                                const std::string& default_dir,
                                const std::function<bool(const std::string&)>& holds_hash_links) {
  SystemRoots roots{.bundle = file_override, .directory = dir_override.value_or(default_dir)};
  // OpenSSL reads a list of directories separated by ':'.
  const auto dirs = split_list(roots.directory, ':');
  const bool hashed = std::any_of(dirs.begin(), dirs.end(), [&](std::string_view dir) {
    return !dir.empty() && holds_hash_links(std::string(dir));
  });
  if (!roots.bundle && !hashed) roots.bundle = default_file;
  return roots;
}

bool holds_hash_links(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_hash_link_name(it->path().filename().string())) return true;
  return false;
}

}  // namespace bottle
