// `ponet inspect`: what GA, SMP and LMP did with one document (the explorer's numbers, without the GUI), and
// `--teach`, the toy layer with every intermediate.
#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "core/data/importers.h"
#include "core/inspect/inspection.h"
#include "core/inspect/teach.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace ponet::cli {
namespace {

int64_t int_option(const ParsedArgs& a, const std::string& name, int64_t fallback, int64_t min) {
    if (!a.has(name)) return fallback;
    const std::string v = a.get(name);
    try {
        size_t used = 0;
        const int64_t n = std::stoll(v, &used);
        if (used == v.size() && n >= min) return n;
    } catch (const std::exception&) {
    }
    throw UsageError{"--" + name + " must be an integer of at least " + std::to_string(min) + ", got '" + v + "'"};
}

std::string shown(const Inspection& r, int64_t t) {
    return "#" + std::to_string(t) + " " + r.tokens[static_cast<size_t>(t)];
}

void print_layer(const Inspection& r, int64_t l, int64_t top) {
    std::cout << "layer " << l << "\n  GA top tokens (mean over " << r.heads << " heads):";
    for (const auto& w : r.top_tokens(l, -1, top))
        std::cout << "  " << shown(r, w.token) << " " << std::setprecision(3) << w.weight;
    // The tokens that win the most SMP features across the document.
    std::vector<int64_t> order(static_cast<size_t>(r.length));
    for (int64_t t = 0; t < r.length; ++t) order[static_cast<size_t>(t)] = t;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return r.smp_wins_at(l, a) > r.smp_wins_at(l, b); });
    std::cout << "\n  SMP top winners (features of " << r.hidden << " won in their segment):";
    for (int64_t i = 0; i < std::min<int64_t>(top, r.length); ++i)
        std::cout << "  " << shown(r, order[static_cast<size_t>(i)]) << " " << r.smp_wins_at(l, order[static_cast<size_t>(i)]);
    double left = 0, self = 0, right = 0, g = 0, s = 0, lo = 0;
    for (int64_t t = 0; t < r.length; ++t) {
        left += r.lmp_count(l, t, LmpSource::Left);
        self += r.lmp_count(l, t, LmpSource::Self);
        right += r.lmp_count(l, t, LmpSource::Right);
        g += r.share(l, t, Branch::Global);
        s += r.share(l, t, Branch::Segment);
        lo += r.share(l, t, Branch::Local);
    }
    const double features = left + self + right, n = static_cast<double>(r.length);
    std::cout << std::fixed << std::setprecision(1) << "\n  LMP sources: left " << 100 * left / features << "%, self "
              << 100 * self / features << "%, right " << 100 * right / features << "%"
              << "\n  branch shares (mean over tokens): global " << 100 * g / n << "%, segment " << 100 * s / n
              << "%, local " << 100 * lo / n << "%\n"
              << std::defaultfloat;
}

int run_inspect(const ParsedArgs& a) {
    if (a.has("teach")) {
        std::cout << describe(teach_layer(static_cast<uint64_t>(int_option(a, "seed", 7, 0))));
        return 0;
    }
    if (!a.has("model") || !a.has("text"))
        throw UsageError{"usage: ponet inspect --model DIR|RUN --text FILE [--json OUT] [--csv VIEW=OUT] [--layer N]"
                         " (or ponet inspect --teach)"};
    const std::string text_path = a.get("text");
    if (::access(text_path.c_str(), R_OK) != 0) throw InvalidInput("cannot read the text file '" + text_path + "'");
    const std::string text = repair_utf8(read_file(text_path, 64ull << 20));

    InspectOptions o;
    o.checkpoint = a.get("checkpoint", "best");
    o.max_tokens = int_option(a, "max-tokens", 0, 0);
    o.device = resolve_device(a.get("device", "cpu"));
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    o.progress = [tty](double f, const std::string& stage) {
        if (tty) std::cerr << "\r" << std::setw(3) << static_cast<int>(100 * f) << "% " << stage << "\033[K" << std::flush;
    };
    const Inspection r = inspect_document(a.get("model"), text, text_path, o);
    if (tty) std::cerr << "\r\033[K";

    int64_t segments_used = 0;
    for (int64_t f : r.segment_first) segments_used += f >= 0;
    std::cout << "checkpoint " << r.checkpoint << "\n"
              << r.length << " tokens, " << segments_used << " segments; " << r.layers << " layers, " << r.heads
              << " heads, " << r.hidden << " features\n";
    if (!r.note.empty()) std::cout << "note: " << r.note << "\n";
    const int64_t top = int_option(a, "top", 5, 1);
    const int64_t layer = int_option(a, "layer", -1, 0);
    if (a.has("layer") && layer >= r.layers)
        throw InvalidInput("--layer " + std::to_string(layer) + " does not exist: the model has " +
                           std::to_string(r.layers) + " layers (0 to " + std::to_string(r.layers - 1) + ")");
    for (int64_t l = 0; l < r.layers; ++l)
        if (layer < 0 || l == layer) print_layer(r, l, top);

    if (a.has("json")) {
        write_file_atomic(a.get("json"), r.to_json());
        std::cerr << "wrote " << a.get("json") << "\n";
    }
    if (a.has("csv")) {
        for (const std::string& spec : a.all("csv")) {
            const auto eq = spec.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
                throw UsageError{"--csv takes VIEW=FILE (views: tokens, ga, smp, lmp, shares), got '" + spec + "'"};
            write_file_atomic(spec.substr(eq + 1), r.to_csv(spec.substr(0, eq), layer));
            std::cerr << "wrote " << spec.substr(eq + 1) << "\n";
        }
    }
    return 0;
}

}  // namespace

CommandSpec inspect_command() {
    CommandSpec c;
    c.name = "inspect";
    c.summary = "what GA, SMP and LMP see in a document: weights, winners and branch shares per layer";
    c.description =
        "Runs the model once over the document (its sentences are the SMP segments) with the inspection hook and "
        "prints, per layer, the tokens with the largest global-aggregation weight, the tokens that win the most "
        "segment max-pooling features, where the local max-pooling values come from, and each branch's share of "
        "the fused output. --json writes every number; --csv writes one view. --teach prints a toy layer of twelve "
        "tokens with every intermediate.";
    c.options = {
        OptionSpec::value("model", "DIR|RUN", "Model directory (with vocab.txt), run directory or checkpoint"),
        OptionSpec::value("text", "FILE", "The document (plain text)"),
        OptionSpec::value("checkpoint", "WHICH", "For a run: best, last or step-N", "best"),
        OptionSpec::value("json", "OUT", "Write the full inspection as JSON"),
        OptionSpec::value("csv", "VIEW=OUT", "Write one view (tokens, ga, smp, lmp, shares) as CSV").repeatable(),
        OptionSpec::value("layer", "N", "Print (and export as CSV) this layer only"),
        OptionSpec::value("top", "K", "Tokens listed per layer", "5"),
        OptionSpec::value("max-tokens", "N", "Inspect at most N tokens (default: the model's limit)"),
        OptionSpec::value("device", "D", "cpu, cuda or cuda:N", "cpu"),
        OptionSpec::flag("teach", "Print the teach-mode toy layer with every intermediate and exit"),
        OptionSpec::value("seed", "S", "Seed of the teach-mode toy", "7"),
    };
    c.run = run_inspect;
    return c;
}

}  // namespace ponet::cli
