// FAKE_SMOLVM_LOG: JSON Lines that tests assert on (§10.6). Each line is one write()
// on an O_APPEND fd, so lines from concurrent fakes never interleave.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fake_smolvm {

// {"t":..,"pid":..,"argv":[..],"cwd":"..","stdin_tty":..,"winsize":[c,r]|null}
void log_invocation(const std::vector<std::string>& argv);

// A PTY or lifecycle event; `fields` are pre-rendered `"key":value` pairs.
void log_event(const std::string& event, const std::vector<std::string>& fields);

// Helpers to render fields for log_event.
std::string field(const std::string& key, const std::string& text);
std::string field(const std::string& key, long long number);

}  // namespace fake_smolvm
