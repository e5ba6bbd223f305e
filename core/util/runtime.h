// Process-wide LibTorch set-up that every entry point (CLI, GUI, tests) performs first.
#pragma once

namespace ponet {

// Sets the intra-op thread count: `threads` if > 0, else $OMP_NUM_THREADS, else every hardware thread.
// Debian's LibTorch starts with one thread (TOOLCHAIN.md §4), so without this the CPU path runs on one core.
void init_runtime(int threads = 0);

// The LibTorch version string and whether it has CUDA, for --version and the About dialog.
const char* torch_version();
bool torch_has_cuda();

}  // namespace ponet
