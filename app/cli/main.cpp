// `ponet`: the command-line twin of PoNet Studio. Thin: parse, dispatch, map errors to exit codes.
#include <torch/torch.h>

#include <iostream>

#include "commands.h"
#include "core/util/error.h"
#include "core/util/runtime.h"

namespace {

std::vector<ponet::cli::CommandSpec> command_table() {
    std::vector<ponet::cli::CommandSpec> table = ponet::cli::train_commands();
    for (auto c : {ponet::cli::forward_command(), ponet::cli::info_command(), ponet::cli::tokenize_command(),
                   ponet::cli::inspect_command(), ponet::cli::data_command(), ponet::cli::selftest_command(),
                   ponet::cli::bench_command(), ponet::cli::bench_mixer_command(),
                   ponet::cli::race_command()})
        table.push_back(std::move(c));
    return table;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ponet::cli;
    const auto commands = command_table();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        if (args.size() >= 2)
            for (const auto& c : commands)
                if (c.name == args[1]) return std::cout << command_help(c), 0;
        std::cout << program_help(commands);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << "ponet " << PONET_VERSION << " (LibTorch " << ponet::torch_version() << ", CUDA "
                  << (torch::cuda::is_available() ? "available" : "not available") << ")\n";
        return 0;
    }
    if (args[0] == "--man") {
        std::cout << man_page(commands, PONET_VERSION);
        return 0;
    }
    for (const auto& c : commands) {
        if (c.name != args[0]) continue;
        std::vector<std::string> rest(args.begin() + 1, args.end());
        if (!c.pass_through)
            for (const auto& r : rest)
                if (r == "--help" || r == "-h") return std::cout << command_help(c), 0;
        try {
            const ParsedArgs parsed = parse_args(c, rest);
            ponet::init_runtime();
            return c.run(parsed);
        } catch (const UsageError& e) {
            std::cerr << e.message << "\n";
            return 2;
        } catch (const ponet::InvalidInput& e) {
            std::cerr << "ponet " << c.name << ": " << e.what() << "\n";
            return 2;
        } catch (const c10::Error& e) {
            std::cerr << "ponet " << c.name << ": " << e.what_without_backtrace() << "\n";
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "ponet " << c.name << ": " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "ponet: unknown command '" << args[0] << "' (see ponet --help)\n";
    return 2;
}
