// The per-device benchmark cache: the newest measurement of every (setting, mixer, length) each device has
// run, as JSON under $XDG_CACHE_HOME/ponet-studio/bench/, so the GUI can preview time and memory per step
// against sequence length without running anything. Torch-free.
#pragma once
#include <string>
#include <vector>

#include "core/bench/bench.h"

namespace ponet::bench {

// <cache_dir()>/bench
std::string cache_directory();
// The file of one device: its name with everything but [A-Za-z0-9.-] turned into '_'
// ("NVIDIA_H100_80GB_HBM3").
std::string cache_file_for(const std::string& device_name);

// What makes two reports comparable: preset, mode, batch, precision, the requested PoNet implementation and, on
// CUDA devices, the CUDA-graph setting.
std::string setting_key(const BenchReport& report);

// Merges the report's finished rows (ok and out of memory; errors and cancelled cells are left out) into its
// device's cache file: same setting and (mixer, length) → the new row replaces the old. Returns the file
// written. Throws ponet::Error when the file cannot be written.
std::string update_cache(const BenchReport& report);

// Every cached report (one per device and setting), newest first. Unreadable files are skipped and named in
// `problems` when given.
std::vector<BenchReport> load_cache(std::vector<std::string>* problems = nullptr);

// The cached report of `device_name` with the same setting as `like`, if any.
bool find_cached(const std::string& device_name, const BenchReport& like, BenchReport* out);

}  // namespace ponet::bench
