// POSIX implementation of the atomic writer: mkstemp next to the destination, fsync, rename, fsync the
// directory.
#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <system_error>
#include <vector>

#include "core/util/error.h"

namespace ponet {
namespace {

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err) {
    throw Error(what + " '" + path + "': " + errno_text(err));
}

std::string parent_directory(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// umask() can only be read by setting it, which races with other threads creating files; /proc has it
// read-only.
mode_t current_umask() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Umask:", 0) == 0) {
            try {
                return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
            } catch (const std::exception&) {
                break;
            }
        }
    }
    return 022;
}

// mkstemp creates files with mode 0600; give the result the mode a plain open() would have, or keep the mode
// of the file being replaced, so that an atomic save does not silently make a shared file private.
mode_t destination_mode(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
    return 0666 & ~current_umask();
}

void fsync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    // Some file systems cannot fsync a directory at all; the rename has happened, so there is nothing to
    // undo.
    if (rc != 0 && err != EINVAL && err != ENOTSUP) throw_io("cannot sync directory", dir, err);
}

// Fault injection for the crash-safety tests (tests/test_crash_safety.cpp, tests/crash/kill-loop.sh):
// PONET_FAULT_WRITE_DELAY_MS=N sleeps N ms after every write to a temporary file and before every rename, so
// that a SIGKILL lands inside a checkpoint write instead of between writes. Read once; unset costs nothing.
void fault_delay() {
    static const int delay_ms = [] {
        const char* v = std::getenv("PONET_FAULT_WRITE_DELAY_MS");
        return v ? std::atoi(v) : 0;
    }();
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
    if (path_.empty()) throw Error("cannot write a file with an empty path");
    std::vector<char> name(path_.begin(), path_.end());
    const std::string suffix = ".tmp-XXXXXX";
    name.insert(name.end(), suffix.begin(), suffix.end());
    name.push_back('\0');
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ < 0) throw_io("cannot create a temporary file for", path_, errno);
    temp_path_ = name.data();
    // Best effort: a file system without permissions (e.g. vfat) still gets the data.
    (void)::fchmod(fd_, destination_mode(path_));
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
    if (fd_ < 0) throw Error("cannot write to '" + path_ + "': the file was already committed or failed");
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot write", temp_path_, errno);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    fault_delay();
}

void AtomicFileWriter::commit() {
    if (committed_) throw Error("'" + path_ + "' was already committed");
    if (fd_ < 0) throw Error("cannot commit '" + path_ + "': an earlier step failed");
    if (::fsync(fd_) != 0) throw_io("cannot flush", temp_path_, errno);
    const int fd = fd_;
    fd_ = -1;
    // close() can report a delayed write error (e.g. NFS quota); the data would be lost silently otherwise.
    if (::close(fd) != 0) throw_io("cannot close", temp_path_, errno);
    fault_delay();
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        const int err = errno;
        throw Error("cannot rename '" + temp_path_ + "' to '" + path_ + "': " + errno_text(err));
    }
    committed_ = true;
    fsync_directory(parent_directory(path_));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    AtomicFileWriter writer(path);
    writer.write(bytes.data(), bytes.size());
    writer.commit();
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open", path, errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_io("cannot read", path, errno);
    if (S_ISDIR(st.st_mode)) throw Error("cannot read '" + path + "': it is a directory");
    const auto too_large = [&](const std::string& size) {
        return Error("cannot read '" + path + "': it holds " + size + " bytes, more than the limit of " +
                     std::to_string(max_bytes));
    };
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
        throw too_large(std::to_string(st.st_size));
    }

    std::string bytes;
    if (S_ISREG(st.st_mode)) bytes.reserve(static_cast<size_t>(st.st_size));
    // Read to EOF rather than trusting st_size: the file may grow meanwhile, and pipes have no size at all.
    char chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot read", path, errno);
        }
        if (n == 0) break;
        if (bytes.size() + static_cast<uint64_t>(n) > max_bytes)
            throw too_large("over " + std::to_string(max_bytes));
        bytes.append(chunk, static_cast<size_t>(n));
    }
    return bytes;
}

}  // namespace ponet
