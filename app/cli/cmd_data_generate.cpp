// `ponet data generate listops|pathfinder`: the LRA generators (PONET-SPEC §6.2, §6.3) to JSON Lines.
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/data/lra.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace ponet::cli {

namespace {

int64_t int_option(const ParsedArgs& a, const std::string& name, int64_t fallback) {
    if (!a.has(name)) return fallback;
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const int64_t x = std::stoll(v, &used);
        if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    throw InvalidInput("--" + name + " must be an integer, got '" + v + "'");
}

uint64_t seed_option(const ParsedArgs& a) {
    const std::string v = a.get("seed", "0");
    try {
        size_t used = 0;
        const uint64_t x = std::stoull(v, &used);
        if (used == v.size() && v.find('-') == std::string::npos) return x;
    } catch (const std::exception&) {
    }
    throw InvalidInput("--seed must be a non-negative integer, got '" + v + "'");
}

// One status line, rewritten in place a few times a second.
class Progress {
  public:
    Progress(std::string task, int64_t total) : task_(std::move(task)), total_(total) {}
    void update(int64_t done) {
        const auto now = std::chrono::steady_clock::now();
        if (done != total_ && now - last_ < std::chrono::milliseconds(200)) return;
        last_ = now;
        std::cerr << "\r" << task_ << ": " << done << "/" << total_ << " ("
                  << (total_ ? 100 * done / total_ : 100) << "%)" << (done == total_ ? "\n" : "")
                  << std::flush;
    }

  private:
    std::string task_;
    int64_t total_;
    std::chrono::steady_clock::time_point last_{};
};

int run_generate(const ParsedArgs& a) {
    if (a.positionals.size() != 1 || (a.positionals[0] != "listops" && a.positionals[0] != "pathfinder"))
        throw UsageError{
            "usage: ponet data generate listops|pathfinder --seed S --count N --out FILE [OPTIONS]"};
    const std::string task = a.positionals[0];
    const int64_t count = int_option(a, "count", 0);
    if (count < 1) throw InvalidInput("--count must be at least 1");
    const uint64_t seed = seed_option(a);
    const std::string out = a.get("out");

    AtomicFileWriter file(out);
    Progress progress(task, count);
    std::string line;
    if (task == "listops") {
        ListOpsOptions o;
        o.seed = seed;
        o.min_length = int_option(a, "min-length", o.min_length);
        o.max_length = int_option(a, "max-length", o.max_length);
        o.max_depth = int_option(a, "max-depth", o.max_depth);
        o.max_args = int_option(a, "max-args", o.max_args);
        ListOpsGenerator gen(o);
        for (int64_t i = 0; i < count; ++i) {
            const ListOpsExample ex = gen.next();
            line = nlohmann::json{{"id", "listops-" + std::to_string(seed) + "-" + std::to_string(i)},
                                  {"text", ex.source},
                                  {"label", ex.label}}
                       .dump() +
                   "\n";
            file.write(line.data(), line.size());
            progress.update(i + 1);
        }
    } else {
        PathfinderOptions o;
        o.seed = seed;
        o.size = int_option(a, "size", o.size);
        o.contour_length = int_option(a, "contour-length", o.contour_length);
        o.distractors = int_option(a, "distractors", o.distractors);
        PathfinderGenerator gen(o);
        for (int64_t i = 0; i < count; ++i) {
            const PathfinderImage img = gen.next();
            line = nlohmann::json{{"id", "pathfinder-" + std::to_string(seed) + "-" + std::to_string(i)},
                                  {"pixels", img.pixels},
                                  {"label", img.label}}
                       .dump() +
                   "\n";
            file.write(line.data(), line.size());
            progress.update(i + 1);
        }
    }
    file.commit();
    std::cout << "wrote " << count << " " << task << " examples to " << out << "\n";
    return 0;
}

}  // namespace

std::vector<CommandSpec> data_generate_commands() {
    CommandSpec c;
    c.name = "generate";
    c.summary = "generate LRA ListOps or Pathfinder-style examples";
    c.positionals = "listops|pathfinder";
    c.description =
        "Writes COUNT examples as JSON Lines ({\"id\", \"text\" or \"pixels\", \"label\"}), the same for the "
        "same "
        "seed on every machine. ListOps (PONET-SPEC 6.2): unique expression trees over MAX/MIN/MED/SUM_MOD "
        "with "
        "their value 0-9 as the label, each label checked by an independent evaluator. Pathfinder: 32x32 "
        "grayscale "
        "images (row-major pixels 0-255), label 1 when one dashed path joins the two markers, each label "
        "checked "
        "by a connectivity test on the image.";
    c.options = {
        OptionSpec::value("seed", "S", "random seed", "0"),
        OptionSpec::required_value("count", "N", "number of examples"),
        OptionSpec::required_value("out", "FILE", "output .jsonl file (written atomically)"),
        OptionSpec::value("min-length", "N", "listops: fewest tokens, parentheses not counted", "501"),
        OptionSpec::value("max-length", "N", "listops: most tokens", "1999"),
        OptionSpec::value("max-depth", "N", "listops: deepest nesting, the root being depth 1", "10"),
        OptionSpec::value("max-args", "N", "listops: most arguments of one operator", "10"),
        OptionSpec::value("size", "N", "pathfinder: image side in pixels", "32"),
        OptionSpec::value("contour-length", "N", "pathfinder: paddles per marked path", "6"),
        OptionSpec::value("distractors", "N", "pathfinder: distractor paths (-1: from the contour length)",
                          "-1"),
    };
    c.run = run_generate;
    return {c};
}

}  // namespace ponet::cli
