// `ponet selftest`: golden parity and the independent checks of every mixer, on every device present.
#include <iostream>

#include "commands.h"
#include "core/check/check_result.h"

namespace ponet::cli {

namespace {

int run_selftest_cmd(const ParsedArgs& a) {
    SelfTestOptions opt;
    opt.golden_dir = a.get("golden");
    for (const auto& d : a.all("device")) opt.devices.push_back(resolve_device(d));
    const bool verbose = a.has("verbose");
    opt.on_result = [&](const CheckResult& r) {
        if (verbose || !r.passed) std::cout << format_result_line(r) << std::endl;
    };
    const auto devices = opt.devices.empty() ? available_devices() : opt.devices;
    std::cout << "ponet selftest on";
    for (const auto& d : devices) std::cout << " " << d;
    std::cout << std::endl;
    auto report = run_selftest(opt);
    // The plain closing line CI understands.
    std::cout << report.passed() << " passed, " << report.failed() << " failed" << std::endl;
    return report.failed() == 0 && !report.results.empty() ? 0 : 1;
}

}  // namespace

CommandSpec selftest_command() {
    CommandSpec c;
    c.name = "selftest";
    c.summary = "check the numerics against the PoNet authors' golden vectors on every device";
    c.description =
        "Runs the golden-vector parity (every output, hidden state, GA weight, both losses and every gradient of a "
        "tiny PoNet computed by the authors' code), the PoNet mixing against a naive loop implementation, padding "
        "invariance, the explicit-segment path, FNet against explicit DFT matrices, attention against an explicit "
        "softmax, the inspection hook, the fused kernels against the reference path and ATen (the PoNet mixing; on "
        "CUDA also LayerNorm, linear layers and what follows their products: bias, activation, dropout, residual "
        "add), the AdamW step and a save/load round trip. Exit status 1 if any check fails.";
    c.options = {
        OptionSpec::value("device", "DEVICE", "run on this device only (cpu, cuda, cuda:N)").repeatable(),
        OptionSpec::value("golden", "DIR", "golden vectors directory (default: the installed copy)"),
        OptionSpec::flag("verbose", "print every check, not only failures"),
    };
    c.run = run_selftest_cmd;
    return c;
}

}  // namespace ponet::cli
