#pragma once
// Where bottle-egress reads the system's trusted roots for verifying upstreams.
//
// OpenSSL's default (SSL_CTX_set_default_verify_paths) uses both the bundle file and
// the hashed directory, and parses the whole bundle at start: about 140 roots, 0.9 MiB
// of heap and some 50 ms before egress is ready, for the one or two roots a bottle's
// upstreams chain to. A directory of subject-hash links (update-ca-certificates and
// `openssl rehash` make them; Debian's /etc/ssl/certs, the egress image's) is looked
// up by a chain's issuer when a chain needs a root, and holds the same roots.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace bottle {

struct SystemRoots {
  /// Parsed whole at start; nullopt when the directory serves instead.
  std::optional<std::string> bundle;
  /// Looked up by subject hash (OpenSSL's list: directories separated by ':').
  std::string directory;
  bool operator==(const SystemRoots&) const = default;
};

/// The roots to load: OpenSSL's defaults, with SSL_CERT_FILE (`file_override`) and
/// SSL_CERT_DIR (`dir_override`) keeping their OpenSSL meaning, except that the default
/// bundle is left out when a directory in use holds hash links. A bundle named in
/// SSL_CERT_FILE is always loaded; a system without hash links verifies as before.
SystemRoots choose_system_roots(const std::optional<std::string>& file_override,
                                const std::optional<std::string>& dir_override, const std::string& default_file,
                                const std::string& default_dir,
                                const std::function<bool(const std::string&)>& holds_hash_links);

/// True when `dir` holds an entry named like a subject-hash link ("1a2b3c4d.0").
bool holds_hash_links(const std::filesystem::path& dir);

}  // namespace bottle
