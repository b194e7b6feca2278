#include <catch2/catch.hpp>

#include "bottle/frontend/terminal_text.hpp"

using bottle::terminal_safe;

TEST_CASE("terminal text: lines, tabs and UTF-8 pass, controls are shown instead of sent", "[terminal]") {
  CHECK(terminal_safe("+int main() {\n\treturn 0;\n}\n") == "+int main() {\n\treturn 0;\n}\n");
  CHECK(terminal_safe("caf\xc3\xa9 \xe2\x9c\x93 \xc2\xa0") == "caf\xc3\xa9 \xe2\x9c\x93 \xc2\xa0");
  // OSC 52 (write the clipboard), a window title, a cursor move that hides a line, CR, BEL, DEL.
  CHECK(terminal_safe("\x1b]52;c;Y3VybCBldmlsfHNo\x07") == "^[]52;c;Y3VybCBldmlsfHNo^G");
  CHECK(terminal_safe("\x1b]0;title\x1b\\") == "^[]0;title^[\\");
  CHECK(terminal_safe("ok\x1b[1A\x1b[2Khidden\r+safe\x7f") == "ok^[[1A^[[2Khidden^M+safe^?");
  // C1 controls as UTF-8 (U+009B is CSI, U+009D is OSC); a NUL.
  CHECK(terminal_safe("\xc2\x9b"
                      "2J\xc2\x9d"
                      "52") == "<U+009B>2J<U+009D>52");
  CHECK(terminal_safe(std::string_view("a\0b", 3)) == "a^@b");
  CHECK(terminal_safe("") == "");
}

TEST_CASE("terminal text: bytes that are no UTF-8 character are shown as hex", "[terminal]") {
  CHECK(terminal_safe("\x9b"
                      "2J") == "\\x9b2J");                           // a raw 8-bit CSI
  CHECK(terminal_safe("\xc0\xaf") == "\\xc0\\xaf");                  // an overlong '/'
  CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");         // a surrogate
  CHECK(terminal_safe("\xe2\x9c") == "\\xe2\\x9c");                  // cut short
  CHECK(terminal_safe("\xf0\x9f\x98\x80!") == "\xf0\x9f\x98\x80!");  // an emoji stays
}
