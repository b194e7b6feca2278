// pty-resize end to end: `bottle-cli attach` of a smolmachines bottle in a real tmux
// pane whose cwd is "/", against the fake smolvm in its 0.8.0 image-machine profile
// (guest PTY starts at 0x0 and resizes are not forwarded). The "agent" is fake_agent
// in winsize mode: it logs every size its terminal takes.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "bottle/ops/resume.hpp"
#include "cli_harness.hpp"
#include "tmux_session.hpp"

namespace {

std::vector<std::pair<int, int>> logged_sizes(const std::filesystem::path& log) {
  std::vector<std::pair<int, int>> sizes;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    if (const auto* e = o.if_contains("event"); e && *e == "winsize")
      sizes.emplace_back(static_cast<int>(o.at("cols").as_int64()), static_cast<int>(o.at("rows").as_int64()));
  }
  return sizes;
}

std::pair<int, int> pane_size(TmuxServer& tmux) {
  return {std::stoi(tmux.display("bottle", "#{pane_width}")), std::stoi(tmux.display("bottle", "#{pane_height}"))};
}

}  // namespace

TEST_CASE("pty-resize: the guest follows the tmux pane's size, also after a resize storm",
          "[pty-resize][integration]") {
  IntegrationHome home;
  const auto bin = home.path() / "bin";
  std::filesystem::create_directories(bin);
  std::filesystem::create_symlink(test_paths::fake_smolvm, bin / "smolvm");
  std::filesystem::create_symlink(test_paths::fake_agent, bin / "claude");
  const auto agent_log = home.path() / "agent.log";
  home.env()["PATH"] = bin.string() + ":/usr/local/bin:/usr/bin:/bin";
  home.env()["FAKE_SMOLVM_STATE"] = (home.path() / "fake-state").string();
  home.env()["FAKE_SMOLVM_VERSION"] = "0.8.0";
  home.env()["FAKE_SMOLVM_TTY_PROFILE"] = "v080-image";
  home.env()["FAKE_AGENT_LOG"] = agent_log.string();
  home.env()["FAKE_AGENT_MODE"] = "winsize";
  home.env()["BOTTLE_PTY_RESIZE"] = test_paths::pty_resize;

  const std::string name = unique_bottle_name("it-pty");
  auto r = home.cli({"create", "--backend", "smolmachines", "--name", name, "--user", "root"});
  INFO(r.err);
  REQUIRE(r.ok());

  TmuxServer tmux("bottle-pty");
  // The environment goes on the pane's command line: tmux resets PATH from its own.
  std::vector<std::string> pane_command{"env"};
  for (const auto& [key, value] : home.env()) pane_command.push_back(key + "=" + value);
  pane_command.insert(pane_command.end(), {test_paths::bottle_cli, "attach", name});
  REQUIRE(tmux.tmux({"new-session", "-d", "-s", "bottle", "-x", "100", "-y", "30", "-c", "/",
                     bottle::shell_join(pane_command) + "; sleep 30"})
              .ok());
  // tmux reads the cwd of the pane's foreground process; until the pane's child owns its
  // terminal there is none, and the path is empty.
  CHECK(eventually([&] { return tmux.display("bottle", "#{pane_current_path}") == "/"; }));

  // At start the guest gets the pane's size (not smolvm's 0x0).
  auto size = pane_size(tmux);
  INFO("pane " << size.first << "x" << size.second);
  REQUIRE(eventually([&] {
    const auto sizes = logged_sizes(agent_log);
    return !sizes.empty() && sizes.back() == size;
  }));

  // One resize.
  REQUIRE(tmux.tmux({"resize-window", "-t", "bottle", "-x", "132", "-y", "41"}).ok());
  size = pane_size(tmux);
  CHECK(eventually([&] { return logged_sizes(agent_log).back() == size; }));

  // A storm: the guest ends at the final size.
  for (int i = 0; i < 40; ++i)
    tmux.tmux({"resize-window", "-t", "bottle", "-x", std::to_string(60 + i), "-y", std::to_string(20 + i % 7)});
  REQUIRE(tmux.tmux({"resize-window", "-t", "bottle", "-x", "97", "-y", "33"}).ok());
  size = pane_size(tmux);
  CHECK(eventually([&] { return logged_sizes(agent_log).back() == size; }));
  // And it stays there (no stale side-channel lands afterwards).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(logged_sizes(agent_log).back() == size);

  tmux.tmux({"send-keys", "-t", "bottle", "q", ""});
  home.cli({"rm", "--force", name});
}
