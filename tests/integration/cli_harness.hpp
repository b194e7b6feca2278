#pragma once
// Shared by integration tests: run the built bottle-cli with a private BOTTLE_HOME
// and capture what it prints.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bottle/core/subprocess.hpp"
#include "test_paths.hpp"

class IntegrationHome {
 public:
  IntegrationHome() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bottle-it-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    env_["BOTTLE_HOME"] = path_.string();
  }
  ~IntegrationHome() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  IntegrationHome(const IntegrationHome&) = delete;
  IntegrationHome& operator=(const IntegrationHome&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::map<std::string, std::string>& env() { return env_; }

  /// Run bottle-cli ARGS with this home's environment.
  bottle::ProcessResult cli(const std::vector<std::string>& args, std::string stdin_data = {}) {
    bottle::Command c;
    c.argv = {test_paths::bottle_cli};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.env = env_;
    c.stdin_data = std::move(stdin_data);
    return runner_.run(c);
  }

  /// Link `target` into this home's bin/ as `program`, first on the PATH bottle-cli
  /// gets, as if it were installed.
  void install_on_path(const std::string& program, const std::string& target) {
    const auto bin = path_ / "bin";
    std::filesystem::create_directories(bin);
    std::filesystem::create_symlink(target, bin / program);
    if (env_["PATH"].rfind(bin.string() + ":", 0) != 0) {
      const char* path = std::getenv("PATH");
      env_["PATH"] = bin.string() + ":" + (path ? path : "/usr/bin:/bin");
    }
  }

  /// smolvm is tests/fakes/fake_smolvm emulating `version`, with its state and log here.
  void use_fake_smolvm(const std::string& version = "0.8.0") {
    install_on_path("smolvm", test_paths::fake_smolvm);
    env_["FAKE_SMOLVM_STATE"] = (path_ / "fake-state").string();
    env_["FAKE_SMOLVM_LOG"] = (path_ / "fake.log").string();
    env_["FAKE_SMOLVM_VERSION"] = version;
    env_["BOTTLE_PTY_RESIZE"] = test_paths::pty_resize;
  }

  /// The first file named `file_name` below this home; empty when there is none.
  std::filesystem::path find_file(const std::string& file_name) const {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path_))
      if (entry.path().filename() == file_name) return entry.path();
    return {};
  }

  bottle::ProcessResult run(std::vector<std::string> argv) {
    bottle::Command c;
    c.argv = std::move(argv);
    c.env = env_;
    return runner_.run(c);
  }

 private:
  std::filesystem::path path_;
  std::map<std::string, std::string> env_;
  bottle::SystemRunner runner_;
};

/// A bottle name unique to this test process.
inline std::string unique_bottle_name(const std::string& stem) { return stem + "-" + std::to_string(::getpid()); }
