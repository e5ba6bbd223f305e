// The declarative option table behind every `ponet` command: parsing, --help and the man page share it.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ponet::cli {

struct OptionSpec {
    std::string name;       // long name without the dashes, e.g. "model"
    std::string metavar;    // "DIR"; empty for a flag
    std::string help;
    bool required = false;
    bool repeated = false;  // may be given several times
    std::string default_value;

    static OptionSpec value(std::string name, std::string metavar, std::string help, std::string fallback = {}) {
        return {std::move(name), std::move(metavar), std::move(help), false, false, std::move(fallback)};
    }
    static OptionSpec required_value(std::string name, std::string metavar, std::string help) {
        return {std::move(name), std::move(metavar), std::move(help), true, false, {}};
    }
    static OptionSpec flag(std::string name, std::string help) {
        return {std::move(name), {}, std::move(help), false, false, {}};
    }
    OptionSpec repeatable() const {
        OptionSpec o = *this;
        o.repeated = true;
        return o;
    }
};

struct ParsedArgs {
    std::map<std::string, std::vector<std::string>> values;
    std::vector<std::string> positionals;
    bool has(const std::string& name) const { return values.count(name) > 0; }
    std::string get(const std::string& name, const std::string& fallback = {}) const;
    const std::vector<std::string>& all(const std::string& name) const;
};

struct CommandSpec {
    std::string name;
    std::string summary;      // one line
    std::string positionals;  // e.g. "TEXT..." for usage; empty when none are taken
    std::string description;  // a paragraph for --help
    std::vector<OptionSpec> options;
    std::function<int(const ParsedArgs&)> run;
    // Every argument (options too) goes to `positionals` unparsed: for commands with subcommands of their own.
    bool pass_through = false;
};

// Thrown for bad command lines; main() prints the message and exits with 2.
struct UsageError {
    std::string message;
};

ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args);
std::string command_help(const CommandSpec& spec);
std::string program_help(const std::vector<CommandSpec>& commands);
// troff man page (section 1) generated from the same table as --help.
std::string man_page(const std::vector<CommandSpec>& commands, const std::string& version);

}  // namespace ponet::cli
