// read_prompt_file: the prompt file is read on the host at every start, from a path
// that may be inside the agent's workspace, so no symbolic link is followed.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bottle/spec/prompt_file.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

using namespace bottle;
namespace fs = std::filesystem;

namespace {

struct Workspace {
  TempDir tmp;
  fs::path dir = tmp.path() / "work";
  fs::path prompt = dir / "PROMPT.md";
  fs::path secret = tmp.path() / "credentials.json";
  Workspace() {
    fs::create_directories(dir / "docs");
    std::ofstream(prompt) << "be brief\n";
    std::ofstream(secret) << "host secret\n";
  }
};

}  // namespace

TEST_CASE("prompt file: a regular file is read whole", "[prompt]") {
  Workspace w;
  CHECK(read_prompt_file(w.prompt.string(), "$.prompt_file") == "be brief\n");
  // "." and repeated slashes are no links.
  CHECK(read_prompt_file((w.dir / "." / "PROMPT.md").string(), "$.prompt_file") == "be brief\n");
  const std::string exact(max_prompt_file_bytes, 'x');
  std::ofstream(w.prompt, std::ios::trunc) << exact;
  CHECK(read_prompt_file(w.prompt.string(), "$.prompt_file") == exact);
}

TEST_CASE("prompt file: a symbolic link as the file or above it is refused without reading its target", "[prompt]") {
  Workspace w;
  // The agent swaps the file for a link to a host secret.
  fs::remove(w.prompt);
  fs::create_symlink(w.secret, w.prompt);
  std::string message = error_of([&] { read_prompt_file(w.prompt.string(), "$.prompt_file"); }, ErrorKind::isolation);
  CHECK_THAT(message, Catch::StartsWith("$.prompt_file: " + w.prompt.string() +
                                        ": the path goes through a symbolic "
                                        "link (PROMPT.md)"));
  CHECK_THAT(message, Catch::Contains("realpath"));
  CHECK(message.find("host secret") == std::string::npos);

  // Or turns a directory above it into a link to a directory of its choosing.
  fs::remove(w.prompt);
  fs::rename(w.dir / "docs", w.tmp.path() / "elsewhere");
  std::ofstream(w.tmp.path() / "elsewhere" / "PROMPT.md") << "host secret\n";
  fs::create_directory_symlink(w.tmp.path() / "elsewhere", w.dir / "docs");
  message = error_of([&] { read_prompt_file((w.dir / "docs" / "PROMPT.md").string(), "$.prompt_file"); },
                     ErrorKind::isolation);
  CHECK_THAT(message, Catch::Contains("symbolic link (docs)"));

  // A link to a directory as the last component is still a link.
  message = error_of([&] { read_prompt_file((w.dir / "docs").string(), "--prompt-file"); }, ErrorKind::isolation);
  CHECK_THAT(message, Catch::StartsWith("--prompt-file: "));
}

TEST_CASE("prompt file: missing, a directory, a FIFO or too large is refused, naming the field", "[prompt]") {
  Workspace w;
  CHECK(error_of([&] { read_prompt_file((w.dir / "none.md").string(), "$.prompt_file"); }) ==
        "$.prompt_file: " + (w.dir / "none.md").string() + ": no such file");
  CHECK(error_of([&] { read_prompt_file((w.dir / "none" / "x.md").string(), "$.prompt_file"); }) ==
        "$.prompt_file: " + (w.dir / "none" / "x.md").string() + ": no such file");
  CHECK(error_of([&] { read_prompt_file(w.dir.string(), "$.prompt_file"); }) ==
        "$.prompt_file: " + w.dir.string() + ": not a regular file");
  CHECK(error_of([&] { read_prompt_file(w.dir.string() + "/", "$.prompt_file"); }) ==
        "$.prompt_file: " + w.dir.string() + "/: not a file");
  CHECK(error_of([&] { read_prompt_file("PROMPT.md", "$.prompt_file"); }) ==
        "$.prompt_file: PROMPT.md: must be an absolute path");
  // A FIFO is refused at once: opening it does not wait for a writer.
  const fs::path fifo = w.dir / "fifo.md";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(error_of([&] { read_prompt_file(fifo.string(), "$.prompt_file"); }) ==
        "$.prompt_file: " + fifo.string() + ": not a regular file");
  std::ofstream(w.prompt, std::ios::trunc) << std::string(max_prompt_file_bytes + 1, 'x');
  CHECK(error_of([&] { read_prompt_file(w.prompt.string(), "$.prompt_file"); }) ==
        "$.prompt_file: " + w.prompt.string() + ": larger than 1048576 bytes");
}
