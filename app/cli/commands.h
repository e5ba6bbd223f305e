// The `ponet` commands; each returns its spec (options + run function) for the table in main.cpp.
#pragma once
#include <vector>

#include "options.h"

namespace ponet::cli {

CommandSpec bench_command();                         // cmd_bench.cpp
CommandSpec forward_command();
CommandSpec bench_mixer_command();                   // cmd_bench_mixer.cpp
CommandSpec race_command();                          // cmd_race.cpp: the mixer race
CommandSpec info_command();
CommandSpec selftest_command();
CommandSpec tokenize_command();                      // cmd_tokenize.cpp
CommandSpec inspect_command();                       // cmd_inspect.cpp
CommandSpec data_command();                          // cmd_data.cpp: `ponet data SUBCOMMAND ...`
std::vector<CommandSpec> data_source_commands();     // cmd_data_sources.cpp: list, fetch, import
std::vector<CommandSpec> data_generate_commands();   // cmd_data_generate.cpp: generate
std::vector<CommandSpec> train_commands();           // cmd_train.cpp: pretrain, finetune, lra, resume, eval, ...

// "cpu", "cuda", "cuda:N" → a device LibTorch can use here; throws ponet::InvalidInput when it cannot.
std::string resolve_device(const std::string& requested);

}  // namespace ponet::cli
