#include "fake_smolvm_args.hpp"

#include <iostream>

namespace fake_smolvm {

bool ParsedArgs::has(const std::string& long_name) const { return options.contains(long_name); }

std::optional<std::string> ParsedArgs::value(const std::string& long_name) const {
  const auto found = options.find(long_name);
  if (found == options.end() || found->second.empty()) { return std::nullopt; }
  return found->second.back();
}

std::vector<std::string> ParsedArgs::values(const std::string& long_name) const {
  const auto found = options.find(long_name);
  return found == options.end() ? std::vector<std::string>{} : found->second;
}

std::string display_option(const OptionSpec& option) {
  std::string shown = "--" + option.long_name;
  if (!option.value_name.empty()) { shown += " <" + option.value_name + ">"; }
  return shown;
}

namespace {

const OptionSpec* find_long(const CommandSpec& spec, const std::string& name) {
  for (const auto& option : spec.options) {
    if (option.long_name == name) { return &option; }
  }
  return nullptr;
}

const OptionSpec* find_short(const CommandSpec& spec, char name) {
  for (const auto& option : spec.options) {
    if (option.short_name != '\0' && option.short_name == name) { return &option; }
  }
  return nullptr;
}

// clap refuses a following word that looks like a flag as an option's value.
bool looks_like_flag(const std::string& word) { return word.size() > 1 && word[0] == '-'; }

class Parser {
 public:
  Parser(const CommandSpec& spec, const std::vector<std::string>& args) : spec_(spec), args_(args) {}

  ParsedArgs run() {
    while (index_ < args_.size()) {
      const std::string& word = args_[index_++];
      if (in_trailing_) {
        parsed_.trailing.push_back(word);
      } else if (!only_positionals_ && word == "--") {
        if (spec_.dashdash_starts_trailing) {
          in_trailing_ = true;
        } else {
          only_positionals_ = true;
        }
      } else if (!only_positionals_ && word.starts_with("--")) {
        parse_long(word);
      } else if (!only_positionals_ && looks_like_flag(word)) {
        parse_short_cluster(word);
      } else {
        add_positional(word);
      }
    }
    if (parsed_.positionals.size() < spec_.required_positionals) {
      throw UsageError("the following required arguments were not provided:\n  <" +
                       spec_.positionals[parsed_.positionals.size()] + ">");
    }
    if (spec_.trailing_required && parsed_.trailing.empty()) {
      throw UsageError("the following required arguments were not provided:\n  <" + spec_.trailing_name + ">...");
    }
    return parsed_;
  }

 private:
  void parse_long(const std::string& word) {
    const auto equals = word.find('=');
    const std::string name = word.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    if (name == "help") { throw HelpRequested{}; }
    const OptionSpec* option = find_long(spec_, name);
    if (option == nullptr) { throw UsageError("unexpected argument '" + word.substr(0, equals) + "' found"); }
    if (option->value_name.empty()) {
      if (equals != std::string::npos) {
        throw UsageError("unexpected value '" + word.substr(equals + 1) + "' for '" + display_option(*option) +
                         "' found; no more were expected");
      }
      store(*option, "");
      return;
    }
    if (equals != std::string::npos) {
      store(*option, word.substr(equals + 1));
      return;
    }
    store(*option, take_value(*option));
  }

  void parse_short_cluster(const std::string& word) {
    for (std::size_t position = 1; position < word.size(); ++position) {
      const char letter = word[position];
      if (letter == 'h') { throw HelpRequested{}; }
      const OptionSpec* option = find_short(spec_, letter);
      if (option == nullptr) { throw UsageError(std::string("unexpected argument '-") + letter + "' found"); }
      if (option->value_name.empty()) {
        store(*option, "");
        continue;
      }
      std::string attached = word.substr(position + 1);
      if (attached.starts_with('=')) { attached.erase(0, 1); }
      store(*option, attached.empty() ? take_value(*option) : attached);
      return;
    }
  }

  std::string take_value(const OptionSpec& option) {
    if (index_ >= args_.size() || looks_like_flag(args_[index_]) || args_[index_] == "--") {
      throw UsageError("a value is required for '" + display_option(option) + "' but none was supplied");
    }
    return args_[index_++];
  }

  void store(const OptionSpec& option, const std::string& value) {
    auto& slot = parsed_.options[option.long_name];
    if (!slot.empty() && !option.repeatable) {
      throw UsageError("the argument '" + display_option(option) + "' cannot be used multiple times");
    }
    slot.push_back(value);
  }

  void add_positional(const std::string& word) {
    if (spec_.first_positional_starts_trailing) {
      in_trailing_ = true;
      parsed_.trailing.push_back(word);
      return;
    }
    if (parsed_.positionals.size() >= spec_.positionals.size()) {
      throw UsageError("unexpected argument '" + word + "' found");
    }
    parsed_.positionals.push_back(word);
  }

  const CommandSpec& spec_;
  const std::vector<std::string>& args_;
  std::size_t index_ = 0;
  bool in_trailing_ = false;
  bool only_positionals_ = false;
  ParsedArgs parsed_;
};

}  // namespace

ParsedArgs parse_command(const CommandSpec& spec, const std::vector<std::string>& args) {
  return Parser(spec, args).run();
}

std::optional<ParsedArgs> parse_or_report(const CommandSpec& spec, const std::vector<std::string>& args,
                                          int& exit_status) {
  try {
    return parse_command(spec, args);
  } catch (const HelpRequested&) {
    std::cout << "Usage: " << spec.usage << "\n\nOptions:\n";
    for (const auto& option : spec.options) {
      std::cout << "  " << (option.short_name != '\0' ? std::string("-") + option.short_name + ", " : "    ")
                << display_option(option) << "\n";
    }
    exit_status = 0;
  } catch (const UsageError& error) { exit_status = report_usage_error(spec, error.what()); }
  return std::nullopt;
}

int report_usage_error(const CommandSpec& spec, const std::string& message) {
  std::cerr << "error: " << message << "\n\nUsage: " << spec.usage << "\n\nFor more information, try '--help'.\n";
  std::cerr.flush();
  return 2;
}

}  // namespace fake_smolvm
