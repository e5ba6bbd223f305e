// Crash-safe file writes (temporary file, fsync, rename) and bounded whole-file reads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ponet {

// Writes a file so that readers see either the old content or the complete new one, never a mix: a crash or
// a kill mid-write leaves the destination untouched. The data goes to `<name>.tmp-XXXXXX` in the
// destination's directory (same file system, so the final rename is atomic); commit() makes it durable and
// renames it over the destination. Destroying an uncommitted writer deletes the temporary file. Errors throw
// ponet::Error.
class AtomicFileWriter {
  public:
    explicit AtomicFileWriter(std::string path);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    // Flushes and fsyncs the file, renames it over the destination and fsyncs the directory so that the
    // rename itself survives a power cut. The writer is finished afterwards.
    void commit();

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }

  private:
    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    bool committed_ = false;
};

void write_file_atomic(const std::string& path, const std::string& bytes);

// The whole content of a regular file; throws ponet::Error when it is missing, unreadable, not a regular
// file or larger than `max_bytes`.
std::string read_file(const std::string& path, uint64_t max_bytes = UINT64_MAX);

}  // namespace ponet
