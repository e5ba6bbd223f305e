// SHA-256 (FIPS 180-4) of our own, streaming, so that recipe checksums need no crypto library.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ponet {

class Sha256 {
  public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    // Finishes the hash; the object must be reset() before it is used again.
    std::array<uint8_t, 32> digest();
    std::string hex_digest();
    void reset();

  private:
    void compress(const uint8_t* block);
    std::array<uint32_t, 8> state_{};
    std::array<uint8_t, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Hash of a file's content read in chunks; throws ponet::Error when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace ponet
