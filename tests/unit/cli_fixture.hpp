#pragma once
// bottle-cli in-process for unit tests: a private state directory, a RecordingRunner
// that answers 0 to everything (and the start probe as a bottle whose fences hold),
// captured output and Docker as the only backend.

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bottle/backends/docker_commands.hpp"
#include "bottle/core/subprocess.hpp"
#include "bottle/frontend/cli.hpp"
#include "canary_responder.hpp"
#include "temp_dir.hpp"

struct CliFixture {
  TempDir tmp;
  bottle::RecordingRunner runner;
  std::ostringstream out, err;
  bottle::CliContext ctx{.runner = runner,
                         .dirs = {tmp.path() / "config", tmp.path() / "state"},
                         .out = out,
                         .err = err,
                         .backends = [](bottle::BackendKind, bottle::Runner& r) -> std::unique_ptr<bottle::Backend> {
                           return std::make_unique<bottle::Backend>(r, std::make_unique<bottle::DockerCommands>());
                         }};
  CliFixture() {
    runner.fallback = bottle::exited(0);
    runner.respond(canary_responder::healthy());
    std::filesystem::create_directories(tmp.path() / "ws");
    ctx.cwd = tmp.path().string();
  }
  /// Runs bottle-cli with `args` after clearing the captured output.
  int run(const std::vector<std::string>& args) {
    out.str("");
    err.str("");
    return bottle::run_cli(args, ctx);
  }
};
