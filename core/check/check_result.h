// The self-test: parity with the golden vectors and independent checks of every mixer, on every device present.
// Torch-free so the GUI can show it; `ponet selftest` and the Qt Test suite call the same checks.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace ponet {

struct CheckResult {
    std::string name;         // e.g. "golden parity: grad.ponet.embeddings.word_embeddings.weight"
    std::string device;       // "cpu", "cuda:0"
    bool passed = false;
    double error = 0.0;       // the measured error (meaning given by `metric`)
    double tolerance = 0.0;
    std::string metric;       // "max abs", "rel L2", "exact"
    std::string detail;       // why it failed, or extra context
};

struct SelfTestOptions {
    std::string golden_dir;                 // empty: <resources>/golden/tiny
    std::vector<std::string> devices;       // empty: every device present ("cpu", "cuda:0", ...)
    std::function<void(const CheckResult&)> on_result;  // called as each check finishes (any thread)
    const std::atomic<bool>* cancel = nullptr;
};

struct SelfTestReport {
    std::vector<CheckResult> results;
    bool cancelled = false;
    int passed() const;
    int failed() const;
};

// Devices LibTorch can use here: "cpu" plus "cuda:N" for each visible GPU. Never throws.
std::vector<std::string> available_devices();

// Runs every check on every requested device. Never throws: a check that throws is a failed result.
SelfTestReport run_selftest(const SelfTestOptions& options);

std::string format_result_line(const CheckResult& r);

}  // namespace ponet
