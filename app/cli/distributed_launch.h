// `--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] [--dist-timeout S]` on the
// training commands: either this process launches the local workers (one per device) and waits for them, or
// it is one of the workers (started by us or by an external torchrun-style launcher) and trains as its rank.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/train/launcher.h"
#include "options.h"

namespace ponet::cli {

std::vector<OptionSpec> distributed_options_spec();

// The world this process trains in, from the environment (RANK, WORLD_SIZE, ...) with --dist-timeout applied;
// nothing for a plain single-process run. Throws UsageError for contradicting options.
std::optional<WorldSpec> worker_world(const ParsedArgs& a);

// When the command line asks for workers and this process is not one: starts them with the same command
// (`command`, the parsed options minus the launcher's own and minus those named in `replaced`, then
// `extra_args`), waits, and returns the exit code. Nothing when this process should train by itself.
std::optional<int> launch_workers_if_requested(const std::string& command, const ParsedArgs& a,
                                               const std::vector<std::string>& replaced,
                                               const std::vector<std::string>& extra_args);

}  // namespace ponet::cli
