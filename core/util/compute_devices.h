// The devices a run can compute on, named for people: the CPU with the machine's memory, each CUDA card
// with its own. Torch-free, so the GUI's device picker can list them without LibTorch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ponet {

struct ComputeDevice {
    std::string id;            // what train.device and --device take: "cpu", "cuda:0", ...
    std::string name;          // "AMD Ryzen 7 5800U", "NVIDIA H100 80GB HBM3"
    int64_t memory_bytes = 0;  // the card's memory, or the machine's RAM for the CPU; 0 when unknown
};

// "cpu" first, then one entry per visible CUDA card. Never throws: a broken driver means no GPU.
std::vector<ComputeDevice> compute_devices();

}  // namespace ponet
