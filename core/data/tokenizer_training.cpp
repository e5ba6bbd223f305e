#include "core/util/time_format.h"
#include "core/data/tokenizer_training.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/xdg.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet {
namespace {

using json = nlohmann::json;

// Removes a half-made folder when training does not get to the end.
struct TempDirGuard {
    std::string path;
    ~TempDirGuard() {
        if (!path.empty()) remove_tree(path);
    }
};

void ensure_directory(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!is_directory_at(dir))
        throw Error("cannot create the tokenizers folder " + dir + (ec ? ": " + ec.message() : std::string()));
}

bool is_cancelled(const std::atomic<bool>* cancel) {
    return cancel && cancel->load(std::memory_order_relaxed);
}

}  // namespace

std::string tokenizers_dir() {
    return data_dir() + "/tokenizers";
}

void validate_tokenizer_name(const std::string& name) {
    if (name.empty()) throw InvalidInput("the tokenizer needs a name");
    if (name.size() > 64) throw InvalidInput("the tokenizer name is longer than 64 characters");
    if (name.front() == '.' || name.front() == '-')
        throw InvalidInput("the tokenizer name '" + name + "' must not start with '.' or '-'");
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok)
            throw InvalidInput("the tokenizer name '" + name +
                               "' may only hold letters, digits, '.', '_' and '-' (it becomes a folder name)");
    }
}

SavedTokenizer train_tokenizer(const TokenizerTrainingSpec& spec,
                               const std::function<void(const TokenizerTrainingProgress&)>& progress,
                               const std::atomic<bool>* cancel) {
    validate_tokenizer_name(spec.name);
    if (spec.corpus.empty()) throw InvalidInput("choose a corpus to train the tokenizer on");
    const std::string root = spec.output_root.empty() ? tokenizers_dir() : spec.output_root;
    const std::string final_dir = root + "/" + spec.name;
    {
        struct stat st {};
        if (::lstat(final_dir.c_str(), &st) == 0)
            throw InvalidInput("a tokenizer named '" + spec.name + "' already exists in " + root +
                               "; choose another name");
    }
    const ImportFormat format =
        spec.format == ImportFormat::Auto ? detect_import_format(spec.corpus) : spec.format;
    if (format == ImportFormat::Idx || format == ImportFormat::Cifar)
        throw InvalidInput("'" + spec.corpus + "' holds images, not text; a tokenizer needs a text corpus");

    ensure_directory(root);
    std::string pattern = root + "/." + spec.name + ".partial-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw Error("cannot create a temporary folder in " + root);
    TempDirGuard guard{pattern};
    const std::string work = pattern;

    // The training corpus: every non-empty line of every document (and its second text), one per line.
    TokenizerTrainingProgress p;
    const std::string corpus_file = work + "/corpus.txt";
    int64_t lines = 0;
    {
        std::ofstream out(corpus_file, std::ios::binary);
        if (!out) throw Error("cannot write " + corpus_file);
        auto add_text = [&](const std::string& text) {
            size_t start = 0;
            while (start <= text.size()) {
                size_t end = text.find('\n', start);
                if (end == std::string::npos) end = text.size();
                size_t a = start, b = end;
                while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r')) ++a;
                while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) --b;
                if (b > a) {
                    out.write(text.data() + a, static_cast<std::streamsize>(b - a));
                    out.put('\n');
                    p.bytes += static_cast<int64_t>(b - a) + 1;
                    ++lines;
                }
                start = end + 1;
            }
        };
        import_documents(spec.corpus, format, spec.import, [&](Document&& doc) {
            if (is_cancelled(cancel)) throw TrainingCancelled("tokenizer training cancelled");
            add_text(doc.text);
            if (!doc.text_b.empty()) add_text(doc.text_b);
            ++p.documents;
            if (progress && p.documents % 256 == 0) progress(p);
        });
        out.flush();
        if (!out) throw Error("cannot write " + corpus_file + " (is the disk full?)");
    }
    if (is_cancelled(cancel)) throw TrainingCancelled("tokenizer training cancelled");
    if (lines == 0)
        throw InvalidInput("'" + spec.corpus + "' has no text to train a tokenizer on (" +
                           std::to_string(p.documents) + " documents read, none with text)");

    p.phase = TokenizerTrainingProgress::Phase::Training;
    if (progress) progress(p);
    auto tok = SentencePieceTokenizer::train(corpus_file, spec.spm, cancel);

    p.phase = TokenizerTrainingProgress::Phase::Saving;
    if (progress) progress(p);
    remove_tree(corpus_file);
    tok->save(work);
    SavedTokenizer saved;
    saved.name = spec.name;
    saved.directory = final_dir;
    saved.model_type = spec.spm.model_type;
    saved.vocab_size = tok->vocab_size();
    saved.corpus = spec.corpus;
    saved.documents = p.documents;
    saved.lines = lines;
    saved.bytes = p.bytes;
    saved.created_at = iso_time_utc(std::time(nullptr));
    const json meta = {{"name", saved.name},         {"model_type", saved.model_type},
                       {"vocab_size", saved.vocab_size}, {"corpus", saved.corpus},
                       {"documents", saved.documents},   {"lines", saved.lines},
                       {"bytes", saved.bytes},           {"created_at", saved.created_at}};
    write_file_atomic(work + "/trained.json", meta.dump(2) + "\n");
    if (is_cancelled(cancel)) throw TrainingCancelled("tokenizer training cancelled");
    std::error_code ec;
    std::filesystem::rename(work, final_dir, ec);
    if (ec) throw Error("cannot move the trained tokenizer to " + final_dir + ": " + ec.message());
    guard.path.clear();
    return saved;
}

std::vector<SavedTokenizer> list_saved_tokenizers(const std::string& root_in) {
    const std::string root = root_in.empty() ? tokenizers_dir() : root_in;
    std::vector<SavedTokenizer> out;
    DIR* dir = ::opendir(root.c_str());
    if (!dir) return out;
    while (const dirent* e = ::readdir(dir)) {
        const std::string name = e->d_name;
        if (name.empty() || name.front() == '.') continue;
        const std::string path = root + "/" + name;
        if (!is_directory_at(path) || !is_regular_file_at(path + "/spm.model")) continue;
        try {
            const json meta = json::parse(read_file(path + "/trained.json", 1 << 20));
            SavedTokenizer t;
            t.name = name;
            t.directory = path;
            t.model_type = meta.value("model_type", std::string());
            t.vocab_size = meta.value("vocab_size", int64_t{0});
            t.corpus = meta.value("corpus", std::string());
            t.documents = meta.value("documents", int64_t{0});
            t.lines = meta.value("lines", int64_t{0});
            t.bytes = meta.value("bytes", int64_t{0});
            t.created_at = meta.value("created_at", std::string());
            out.push_back(std::move(t));
        } catch (const std::exception&) {
            // Not one of ours, or damaged: not offered.
        }
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

}  // namespace ponet
