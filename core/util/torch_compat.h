// The one place where differences between LibTorch 1.13 (Debian) and 2.x (CUDA builds) are guarded.
#pragma once
#include <torch/version.h>

#define PONET_TORCH_AT_LEAST(maj, min) \
    (TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))
