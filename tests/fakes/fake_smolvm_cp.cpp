// `machine cp SRC DST` (§10.2): exactly one side is NAME:/path; the guest path maps under
// $FAKE_SMOLVM_STATE/fs/NAME/.
#include "fake_smolvm.hpp"
#include "fake_smolvm_args.hpp"
#include "fake_smolvm_state.hpp"

#include <filesystem>

namespace fake_smolvm {

namespace {

namespace fs = std::filesystem;

struct RemotePath {
    std::string machine;
    std::string path;
};

// "NAME:/path" with a valid machine name; a host path such as /tmp/a:b never matches.
std::optional<RemotePath> remote_path(const std::string& word) {
    const auto colon = word.find(':');
    if (colon == std::string::npos || colon == 0 || name_problem(word.substr(0, colon))) {
        return std::nullopt;
    }
    return RemotePath{word.substr(0, colon), word.substr(colon + 1)};
}

fs::path guest_to_host(const StateStore& store, const RemotePath& remote) {
    std::string relative = remote.path;
    while (relative.starts_with('/')) {
        relative.erase(0, 1);
    }
    return store.guest_fs(remote.machine) / relative;
}

} // namespace

int command_cp(const Context& context, const std::vector<std::string>& args) {
    CommandSpec spec;
    spec.usage = "smolvm machine cp <SRC> <DST>";
    spec.positionals = {"SRC", "DST"};
    spec.required_positionals = 2;
    int exit_status = 0;
    const auto parsed = parse_or_report(spec, args, exit_status);
    if (!parsed) {
        return exit_status;
    }
    const auto source_remote = remote_path(parsed->positionals[0]);
    const auto target_remote = remote_path(parsed->positionals[1]);
    if (source_remote.has_value() == target_remote.has_value()) {
        return runtime_error("config operation failed: cp: one of SRC or DST must use machine:path "
                             "syntax (e.g., myvm:/path/file)");
    }
    const RemotePath& remote = source_remote ? *source_remote : *target_remote;
    if (const auto failure = injected_failure(context, "cp", remote.machine)) {
        return *failure;
    }
    const StateStore store(context.state_dir);
    const auto record = store.load(remote.machine);
    if (!record) {
        return runtime_error(not_found_message(remote.machine));
    }
    if (!machine_running(*record) && context.notrunning_is_error) {
        return runtime_error(not_running_message(remote.machine));
    }
    const fs::path source = source_remote ? guest_to_host(store, *source_remote) : fs::path(parsed->positionals[0]);
    fs::path target = target_remote ? guest_to_host(store, *target_remote) : fs::path(parsed->positionals[1]);
    std::error_code error;
    if (fs::is_directory(target, error)) {
        target /= source.filename();
    }
    fs::create_directories(target.parent_path(), error);
    fs::copy(source, target,
             fs::copy_options::overwrite_existing | fs::copy_options::recursive, error);
    if (error) {
        return runtime_error("agent operation failed: cp: " + source.string() + ": " + error.message());
    }
    return 0;
}

} // namespace fake_smolvm
