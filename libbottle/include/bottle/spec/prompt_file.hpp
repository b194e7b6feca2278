#pragma once
// The prompt file (spec.prompt_file) read from the host, safely.
//
// A prompt file often lives in a workspace the agent can write (the README's own
// example is /src/api/PROMPT.md). bottle reads it on the host at every start, so an
// agent that replaced it with a symbolic link to ~/.claude/.credentials.json, or
// turned a directory above it into one, would have bottle itself carry the host's
// secret into the bottle. So the file is reached without following any symbolic
// link, in any component of its path, and must be a regular file of at most
// max_prompt_file_bytes (a FIFO would block the start; a huge file would fill it).
//
//   std::string text = bottle::read_prompt_file(spec.prompt_file, "$.prompt_file");

#include <cstddef>
#include <string>
#include <string_view>

namespace bottle {

inline constexpr std::size_t max_prompt_file_bytes = std::size_t{1024} * 1024;

/// The content of the absolute path `path`. Throws Error naming `field` and the path:
/// isolation when a component is a symbolic link (saying to give the file's own
/// path), invalid_input when it is missing, not a regular file or too large, io on
/// any other failure.
std::string read_prompt_file(const std::string& path, std::string_view field);

}  // namespace bottle
