#include "core/text/sentencepiece_tokenizer.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/spm/spm_api.h"
#include "core/text/unicode.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#if defined(__SANITIZE_ADDRESS__)
#define PONET_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PONET_ASAN 1
#endif
#endif
#ifndef PONET_ASAN
#define PONET_ASAN 0
#endif

namespace ponet {
namespace fs = std::filesystem;

namespace {

constexpr const char* kModuleName = "libponet_spm.so";

struct Module {
    const PonetSpmApi* api = nullptr;
    std::string reason;  // why api is null
};

// Where the module may be, most specific first: an explicit override, next to the executable (build tree),
// the installed layouts relative to the executable (so an unpacked package works from any prefix), and
// finally the absolute path of the build that compiled this file (tests, uninstalled runs).
std::vector<std::string> candidate_paths() {
    if (const char* env = std::getenv("PONET_SPM_MODULE"); env && *env) return {env};
    std::vector<std::string> out;
    const std::string exe = executable_dir();
    if (!exe.empty()) {
        const fs::path dir(exe);
        out.push_back((dir / kModuleName).string());
        out.push_back((dir / ".." / "lib" / "ponet" / kModuleName).string());
        out.push_back((dir / ".." / "lib" / "x86_64-linux-gnu" / "ponet" / kModuleName).string());
#ifdef PONET_SPM_MODULE_RELDIR
        out.push_back((dir / ".." / PONET_SPM_MODULE_RELDIR / kModuleName).string());
#endif
    }
#ifdef PONET_SPM_MODULE_BUILD
    out.push_back(PONET_SPM_MODULE_BUILD);
#endif
    return out;
}

Module open_module() {
    Module m;
    std::string tried;
    for (const auto& path : candidate_paths()) {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) {
            tried += (tried.empty() ? "" : ", ") + path;
            continue;
        }
        // RTLD_DEEPBIND makes the module resolve its own protobuf before the one LibTorch brought into the
        // process; RTLD_LOCAL alone still crashes (TOOLCHAIN.md §5.1).
        int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#if PONET_ASAN
        // AddressSanitizer refuses RTLD_DEEPBIND (it would bypass its interceptors). Without LibTorch in the
        // process (the fuzz targets) nothing needs it; with LibTorch there is no safe way to load the module.
        if (::dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD) || ::dlopen("libtorch.so", RTLD_LAZY | RTLD_NOLOAD)) {
            m.reason = "this is an AddressSanitizer build that holds LibTorch; the module needs RTLD_DEEPBIND, "
                       "which the sanitizer does not support";
            return m;
        }
        flags &= ~RTLD_DEEPBIND;
#endif
        void* handle = ::dlopen(path.c_str(), flags);
        if (!handle) {
            const char* err = ::dlerror();
            m.reason = "cannot load " + path + ": " + (err ? err : "unknown error");
            return m;
        }
        auto entry = reinterpret_cast<ponet_spm_api_fn>(::dlsym(handle, "ponet_spm_api"));
        const PonetSpmApi* api = entry ? entry() : nullptr;
        if (!api || api->version != PONET_SPM_API_VERSION) {
            m.reason = path + " is not a PoNet SentencePiece module of interface version " +
                       std::to_string(PONET_SPM_API_VERSION);
            ::dlclose(handle);
            return m;
        }
        m.api = api;  // never unloaded: processors may live until exit
        return m;
    }
#ifdef PONET_SPM_MODULE_BUILD
    m.reason = std::string(kModuleName) + " was not found (looked for " + tried + "; set PONET_SPM_MODULE)";
#else
    m.reason = "this build has no SentencePiece module (libsentencepiece-dev was missing at configure time)" +
               (tried.empty() ? std::string() : "; looked for " + tried);
#endif
    return m;
}

const Module& module() {
    static std::once_flag once;
    static Module m;
    std::call_once(once, [] { m = open_module(); });
    return m;
}

const PonetSpmApi* require_api() {
    const Module& m = module();
    if (!m.api) throw Error("SentencePiece is unavailable: " + m.reason);
    return m.api;
}

// A fraction in [0, 1] with six decimals and a '.', whatever LC_NUMERIC the GUI has set.
std::string format_fraction(double v) {
    const auto millionths = static_cast<int64_t>(v * 1e6 + 0.5);
    std::string frac = std::to_string(millionths % 1000000);
    return std::to_string(millionths / 1000000) + "." + std::string(6 - frac.size(), '0') + frac;
}

bool write_all(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

// SentencePiece's trainer cannot be stopped once started, so a cancellable training runs it in a child
// process that hands the model (or the error) back through a pipe; Cancel kills the child. The child only
// calls into the SentencePiece module (no LibTorch, no Qt) and leaves with _exit().
bool train_in_child(const PonetSpmApi* api, const std::string& corpus,
                    const std::vector<std::pair<std::string, std::string>>& flags, std::string* model,
                    std::string* error, const std::atomic<bool>& cancel) {
    if (cancel.load()) throw TrainingCancelled("tokenizer training cancelled");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(std::string("cannot start the tokenizer training process: ") + std::strerror(e));
    }
    if (pid == 0) {
        ::close(fds[0]);
        std::string m, e;
        bool ok = false;
        try {
            ok = api->train(corpus, flags, &m, &e);
        } catch (...) {
            e = "the SentencePiece trainer failed";
        }
        const std::string& payload = ok ? m : e;
        const char tag = ok ? 'M' : 'E';
        const uint64_t n = payload.size();
        const bool sent = write_all(fds[1], &tag, 1) && write_all(fds[1], &n, sizeof n) &&
                          write_all(fds[1], payload.data(), payload.size());
        ::_exit(sent ? 0 : 3);
    }
    ::close(fds[1]);
    std::string buffer;
    bool cancelled = false;
    for (;;) {
        if (cancel.load()) {
            cancelled = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd pfd{fds[0], POLLIN, 0};
        const int r = ::poll(&pfd, 1, 50);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        char chunk[65536];
        const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // end of the child's output
        buffer.append(chunk, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (cancelled) throw TrainingCancelled("tokenizer training cancelled");
    uint64_t n = 0;
    if (buffer.size() < 1 + sizeof n) {
        const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                    : "exited with status " + std::to_string(WEXITSTATUS(status));
        throw Error("the SentencePiece training process " + how + " without a result");
    }
    std::memcpy(&n, buffer.data() + 1, sizeof n);
    if (buffer.size() != 1 + sizeof n + n) throw Error("the SentencePiece training process sent an incomplete result");
    std::string payload = buffer.substr(1 + sizeof n);
    if (buffer[0] == 'M') {
        *model = std::move(payload);
        return true;
    }
    *error = std::move(payload);
    return false;
}

}  // namespace

bool sentencepiece_available(std::string* reason) {
    const Module& m = module();
    if (!m.api && reason) *reason = m.reason;
    return m.api != nullptr;
}

SentencePieceTokenizer::SentencePieceTokenizer(const PonetSpmApi* api, void* processor, std::string model)
    : api_(api), processor_(processor), model_(std::move(model)) {
    vocab_size_ = api_->piece_size(processor_);
    const int unk = api_->unk_id(processor_);
    auto find = [&](const char* piece) -> int64_t {
        const int id = api_->piece_to_id(processor_, piece);
        return id == unk && api_->id_to_piece(processor_, id) != piece ? -1 : id;
    };
    special_.unk = unk;
    special_.pad = find("[PAD]");
    if (special_.pad < 0) special_.pad = find("<pad>");
    special_.cls = find("[CLS]");
    special_.sep = find("[SEP]");
    special_.mask = find("[MASK]");
}

SentencePieceTokenizer::~SentencePieceTokenizer() {
    api_->destroy(processor_);
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_model(std::string model_bytes) {
    const PonetSpmApi* api = require_api();
    std::string error;
    void* p = api->load(model_bytes, &error);
    if (!p) throw InvalidInput("not a SentencePiece model: " + error);
    return std::unique_ptr<SentencePieceTokenizer>(
        new SentencePieceTokenizer(api, p, std::move(model_bytes)));
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_file(const std::string& model_path) {
    require_api();  // "unavailable" first: it is the more useful message when both apply
    std::string bytes;
    try {
        bytes = read_file(model_path, uint64_t{1} << 31);
    } catch (const Error& e) {
        throw InvalidInput(std::string("cannot read the SentencePiece model: ") + e.what());
    }
    try {
        return from_model(std::move(bytes));
    } catch (const InvalidInput& e) {
        throw InvalidInput(model_path + ": " + e.what());
    }
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::train(const std::string& corpus_path,
                                                                      const SentencePieceTrainOptions& o,
                                                                      const std::atomic<bool>* cancel) {
    const PonetSpmApi* api = require_api();
    std::error_code ec;
    if (!fs::is_regular_file(corpus_path, ec))
        throw InvalidInput("corpus '" + corpus_path + "' is not a file");
    if (o.model_type != "unigram" && o.model_type != "bpe")
        throw InvalidInput("model type must be unigram or bpe, not '" + o.model_type + "'");
    if (o.vocab_size < 6 || o.vocab_size > 1000000)
        throw InvalidInput("vocabulary size must be between 6 and 1000000, not " +
                           std::to_string(o.vocab_size));
    if (!(o.character_coverage > 0.0 && o.character_coverage <= 1.0))
        throw InvalidInput("character coverage must be in (0, 1]");
    // No model_prefix: the model comes back in memory, and the trainer refuses both at once.
    const std::vector<std::pair<std::string, std::string>> flags = {
        {"model_type", o.model_type},
        {"vocab_size", std::to_string(o.vocab_size)},
        {"character_coverage", format_fraction(o.character_coverage)},
        {"input_sentence_size", std::to_string(o.max_sentences)},
        {"shuffle_input_sentence", "true"},
        {"num_threads", std::to_string(std::max(1, o.threads))},
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "-1"},
        {"eos_id", "-1"},
        {"pad_piece", "[PAD]"},
        {"unk_piece", "[UNK]"},
        // Meta pieces take the lowest free ids in order, so these become 2, 3 and 4.
        {"user_defined_symbols", "[CLS],[SEP],[MASK]"},
        {"minloglevel", o.verbose ? "0" : "2"},
    };
    std::string model, error;
    const bool ok = cancel ? train_in_child(api, corpus_path, flags, &model, &error, *cancel)
                           : api->train(corpus_path, flags, &model, &error);
    if (!ok) {
        // "Vocabulary size too high (8000). Please set it to a value <= 1234." → say it in our words.
        const auto at = error.find("<= ");
        if (error.find("Vocabulary size") != std::string::npos && error.find("too high") != std::string::npos &&
            at != std::string::npos) {
            const std::string most = error.substr(at + 3, error.find_first_not_of("0123456789", at + 3) - at - 3);
            throw InvalidInput("the corpus supports at most " + most + " pieces for a " + o.model_type +
                               " model, fewer than the " + std::to_string(o.vocab_size) +
                               " asked for: choose a vocabulary size of " + most +
                               " or less, or a larger corpus");
        }
        throw InvalidInput("SentencePiece training on " + corpus_path + " failed: " + error);
    }
    auto tok = from_model(std::move(model));
    const SpecialTokens s = tok->special_tokens();
    if (s.pad != 0 || s.unk != 1 || s.cls != 2 || s.sep != 3 || s.mask != 4)
        throw Error("SentencePiece placed the special tokens at unexpected ids");
    return tok;
}

std::vector<std::string> SentencePieceTokenizer::tokenize(const std::string& text, EncodeStats* stats) const {
    std::vector<std::string> pieces;
    api_->encode_pieces(processor_, unicode::sanitize_utf8(text, stats ? &stats->replaced_bytes : nullptr),
                        &pieces);
    return pieces;
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text, EncodeStats* stats) const {
    std::vector<int> ids;
    api_->encode_ids(processor_, unicode::sanitize_utf8(text, stats ? &stats->replaced_bytes : nullptr),
                     &ids);
    return {ids.begin(), ids.end()};
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::vector<int> narrow;
    narrow.reserve(ids.size());
    for (int64_t id : ids) {
        if (id < 0 || id >= vocab_size_)
            throw InvalidInput("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                               std::to_string(vocab_size_ - 1) + ")");
        narrow.push_back(static_cast<int>(id));
    }
    std::string text;
    if (!api_->decode_ids(processor_, narrow, &text))
        throw InvalidInput("SentencePiece could not decode the ids");
    return text;
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
    if (id < 0 || id >= vocab_size_)
        throw InvalidInput("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(vocab_size_ - 1) + ")");
    return api_->id_to_piece(processor_, static_cast<int>(id));
}

void SentencePieceTokenizer::save(const std::string& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir + ": " + ec.message());
    write_file_atomic((fs::path(dir) / "spm.model").string(), model_);
    const nlohmann::json meta = {{"kind", kind()}, {"model", "spm.model"}, {"vocab_size", vocab_size_}};
    write_file_atomic((fs::path(dir) / "tokenizer.json").string(), meta.dump(2) + "\n");
}

}  // namespace ponet
