#pragma once
// pipelock v2.3.0 Validate() after ApplyDefaults (reference §2.1, §3, §4.1, §5.3), on
// a document decode_errors accepted. Validation stops at the first error, like the
// real loader; the filesystem is touched only where the real one touches it (CA files
// when tls_interception.enabled, dlp.secrets_file, license_file).

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>

namespace fake_pipelock {

/// The first validation error, or nullopt. Relative paths resolve against
/// `config_dir`, as pipelock resolves them against the config file's directory.
std::optional<std::string> validate_config(const YAML::Node& document, const std::filesystem::path& config_dir);

}  // namespace fake_pipelock
