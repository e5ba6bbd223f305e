// libponet_spm.so: the only translation unit that includes SentencePiece (see spm_api.h for why). Built as a
// MODULE with hidden visibility; it exports ponet_spm_api() and nothing else.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <exception>
#include <fstream>
#include <memory>
#include <unordered_map>

#include "core/spm/spm_api.h"

// Exported by libsentencepiece but missing from its public headers in 0.1.97.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}

namespace {

// Feeds the corpus to the trainer line by line, so a large corpus is never held twice in memory.
class LineIterator final : public sentencepiece::SentenceIterator {
  public:
    explicit LineIterator(const std::string& path) : in_(path, std::ios::binary) {
        if (!in_)
            status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                                  "cannot open the corpus " + path);
        Next();
    }
    bool done() const override { return done_; }
    void Next() override {
        while (status_.ok() && std::getline(in_, line_)) {
            if (!line_.empty() && line_.back() == '\r') line_.pop_back();
            if (!line_.empty()) return;
        }
        done_ = true;
    }
    const std::string& value() const override { return line_; }
    sentencepiece::util::Status status() const override { return status_; }

  private:
    std::ifstream in_;
    std::string line_;
    bool done_ = false;
    sentencepiece::util::Status status_;
};

sentencepiece::SentencePieceProcessor* proc(void* p) {
    return static_cast<sentencepiece::SentencePieceProcessor*>(p);
}

bool train(const std::string& corpus_path, const std::vector<std::pair<std::string, std::string>>& flags,
           std::string* model, std::string* error) {
    try {
        std::unordered_map<std::string, std::string> kwargs;
        int log_level = 2;  // errors only, unless the caller asks for the trainer's progress
        for (const auto& [name, value] : flags) {
            if (name == "minloglevel")
                log_level = std::stoi(value);
            else
                kwargs[name] = value;
        }
        sentencepiece::logging::SetMinLogLevel(log_level);
        LineIterator lines(corpus_path);
        if (!lines.status().ok()) {
            *error = lines.status().ToString();
            return false;
        }
        const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &lines, model);
        if (!status.ok()) {
            *error = status.ToString();
            return false;
        }
        return true;
    } catch (const std::exception& e) {
        *error = e.what();
        return false;
    }
}

void* load(const std::string& model, std::string* error) {
    sentencepiece::logging::SetMinLogLevel(2);
    auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
    try {
        const auto status = p->LoadFromSerializedProto(model);
        if (!status.ok()) {
            *error = status.ToString();
            return nullptr;
        }
    } catch (const std::exception& e) {
        // Not every bad model gets a status: a model with an empty piece makes SentencePiece's trie builder
        // (darts-clone) throw "zero-length key" (found by fuzz_sentencepiece), which must not cross the module
        // boundary as an exception nobody expects.
        *error = e.what();
        return nullptr;
    }
    return p.release();
}

void destroy(void* p) {
    delete proc(p);
}

void encode_ids(void* p, const std::string& text, std::vector<int>* ids) {
    ids->clear();
    if (!proc(p)->Encode(text, ids).ok()) ids->clear();
}

void encode_pieces(void* p, const std::string& text, std::vector<std::string>* pieces) {
    pieces->clear();
    if (!proc(p)->Encode(text, pieces).ok()) pieces->clear();
}

bool decode_ids(void* p, const std::vector<int>& ids, std::string* text) {
    const int n = proc(p)->GetPieceSize();
    for (int id : ids)
        if (id < 0 || id >= n) return false;  // SentencePiece would abort on these
    return proc(p)->Decode(ids, text).ok();
}

int piece_size(void* p) {
    return proc(p)->GetPieceSize();
}

std::string id_to_piece(void* p, int id) {
    if (id < 0 || id >= proc(p)->GetPieceSize()) return {};
    return proc(p)->IdToPiece(id);
}

int piece_to_id(void* p, const std::string& piece) {
    return proc(p)->PieceToId(piece);
}

int unk_id(void* p) {
    return proc(p)->unk_id();
}

const PonetSpmApi kApi = {
    PONET_SPM_API_VERSION, train,       load,  destroy, encode_ids, encode_pieces, decode_ids, piece_size,
    id_to_piece,           piece_to_id, unk_id};

}  // namespace

extern "C" __attribute__((visibility("default"))) const PonetSpmApi* ponet_spm_api() {
    return &kApi;
}
