// `ponet data SUBCOMMAND ...`: datasets (list, fetch, import) and generated tasks (generate).
#include <iostream>

#include "commands.h"

namespace ponet::cli {

namespace {

std::vector<CommandSpec> subcommands() {
    auto all = data_source_commands();
    for (auto& c : data_generate_commands()) all.push_back(std::move(c));
    return all;
}

std::string data_help(const std::vector<CommandSpec>& subs) {
    std::string h = "usage: ponet data SUBCOMMAND [OPTIONS]\n\nDatasets: built-in recipes, imports and generated tasks.\n\n"
                    "subcommands:\n";
    for (const auto& c : subs) {
        std::string name = "  " + c.name;
        name.resize(14, ' ');
        h += name + c.summary + "\n";
    }
    return h + "\n  ponet data SUBCOMMAND --help   options of one subcommand\n";
}

int run_data(const ParsedArgs& a) {
    const auto subs = subcommands();
    if (a.positionals.empty()) throw UsageError{data_help(subs)};
    const std::string name = a.positionals.front();
    std::vector<std::string> rest(a.positionals.begin() + 1, a.positionals.end());
    for (const auto& sub : subs) {
        if (sub.name != name) continue;
        CommandSpec c = sub;
        c.name = "data " + sub.name;  // so help and errors read "ponet data fetch ..."
        for (const auto& r : rest)
            if (r == "--help" || r == "-h") return std::cout << command_help(c), 0;
        return c.run(parse_args(c, rest));
    }
    throw UsageError{"ponet data: unknown subcommand '" + name + "'\n" + data_help(subs)};
}

}  // namespace

CommandSpec data_command() {
    CommandSpec c;
    c.name = "data";
    c.summary = "list, fetch, import and generate datasets";
    c.positionals = "SUBCOMMAND [ARGS...]";
    c.description = data_help(subcommands());
    c.run = run_data;
    c.pass_through = true;
    return c;
}

}  // namespace ponet::cli
