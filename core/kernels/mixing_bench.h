// Timing of the PoNet mixing alone (forward, and forward + backward) for the reference and fused paths, with the
// bytes each must move and the time floor they imply at the device's measured copy bandwidth. Backs
// `ponet bench-mixer`; whole training steps are `ponet bench`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ponet {

struct MixerBenchSpec {
    std::string device = "cpu";  // cpu | cuda | cuda:N
    std::string dtype = "fp32";  // fp32 | bf16 | fp16
    int64_t batch = 1, length = 4096, hidden = 768, heads = 12;
    int64_t sentence = 32;       // tokens per segment (explicit segment ids, sentence-like runs)
    bool clsgsepg = true;        // [CLS] first, [SEP] closing each sentence
    int64_t warmup = 3, iters = 20;
    std::vector<std::string> impls{"reference", "fused"};
};

struct MixerBenchRow {
    std::string impl;             // reference | fused
    double forward_ms = 0;        // median
    double forward_backward_ms = 0;
    double peak_mib = -1;         // CUDA allocator high-water mark during forward + backward; -1 on CPU
    double fused_bytes_forward = 0, fused_bytes_backward = 0;  // what the fused kernels read and write
    double floor_forward_ms = 0, floor_forward_backward_ms = 0;  // those bytes at the measured copy bandwidth
    std::string error;            // set when the implementation could not run (e.g. out of memory)
};

struct MixerBenchReport {
    std::string device_name;
    double copy_gbps = 0;  // measured device-to-device copy bandwidth (read + write bytes per second / 1e9)
    int threads = 1;       // CPU threads LibTorch uses
    std::vector<MixerBenchRow> rows;
};

// Throws ponet::InvalidInput for a bad spec.
MixerBenchReport run_mixer_bench(const MixerBenchSpec& spec);

}  // namespace ponet
