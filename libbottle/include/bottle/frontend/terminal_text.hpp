#pragma once
// Text someone else wrote (an agent's files, shown by `bottle-cli diff`), made safe
// to print on the user's terminal: it can no longer move the cursor, retitle the
// window, write the clipboard (OSC 52) or hide lines.

#include <string>
#include <string_view>

namespace bottle {

/// `text` with newlines, tabs and every printable character kept (UTF-8 included),
/// and each other control shown instead of sent: C0 controls and DEL in caret
/// notation ("^[" for ESC, "^M" for CR, "^?" for DEL), and C1 controls (U+0080 to
/// U+009F, which some terminals obey) as "<U+009B>".
std::string terminal_safe(std::string_view text);

}  // namespace bottle
