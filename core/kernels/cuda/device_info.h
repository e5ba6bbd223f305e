// What the kernels' launchers need to know about the current device. Plain C++ (no LibTorch types).
#pragma once

namespace ponet::cuda_kernels {

// Multiprocessors of the current CUDA device, read once per process (108 when the query fails).
int multiprocessor_count();

}  // namespace ponet::cuda_kernels
