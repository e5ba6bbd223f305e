// DocumentClassifier and the document gathering of the Classify page (document_classifier.h).
#include "core/train/document_classifier.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/data/importers.h"
#include "core/train/metrics.h"
#include "core/train/task_data.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

#include <nlohmann/json.hpp>

namespace ponet {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string gold_for(const fs::path& file, const std::vector<std::string>& labels) {
    const std::string parent = file.parent_path().filename().string();
    return std::find(labels.begin(), labels.end(), parent) != labels.end() ? parent : std::string();
}

void gather_file(const fs::path& file, const std::vector<std::string>& labels, ClassifyInputs& out) {
    const std::string where = file.string();
    const std::string ext = lower(file.extension().string());
    if (ext != ".txt" && ext != ".md" && ext != ".html" && ext != ".htm" && ext != ".jsonl") {
        out.skipped.push_back({where, "unsupported type" + (ext.empty() ? std::string() : " (" + ext + ")")});
        return;
    }
    std::ifstream f(file, std::ios::binary);
    if (!f) {
        out.skipped.push_back({where, "unreadable (permission denied or not a file)"});
        return;
    }
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    if (f.bad()) {
        out.skipped.push_back({where, "unreadable (read error)"});
        return;
    }
    if (is_blank(bytes)) {
        out.skipped.push_back({where, "empty"});
        return;
    }
    if (looks_binary(std::string_view(bytes).substr(0, 4096))) {
        out.skipped.push_back({where, "binary"});
        return;
    }
    const std::string gold = gold_for(file, labels);
    if (ext == ".jsonl") {
        std::istringstream in(bytes);
        std::string line;
        int64_t n = 0, kept = 0;
        while (std::getline(in, line)) {
            ++n;
            if (is_blank(line)) continue;
            const std::string at = where + " line " + std::to_string(n);
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.is_object()) {
                out.skipped.push_back({at, "not a JSON object"});
                continue;
            }
            const auto t = j.find("text");
            if (t == j.end() || !t->is_string()) {
                out.skipped.push_back({at, "no \"text\" string field"});
                continue;
            }
            std::string text = repair_utf8(t->get<std::string>());
            if (is_blank(text)) {
                out.skipped.push_back({at, "empty"});
                continue;
            }
            out.items.push_back({at, std::move(text), gold});
            ++kept;
        }
        if (kept == 0 && n == 0) out.skipped.push_back({where, "empty"});
        return;
    }
    std::string text = repair_utf8(bytes);
    if (ext == ".html" || ext == ".htm") text = html_to_text(text);
    if (is_blank(text)) {
        out.skipped.push_back({where, "empty"});
        return;
    }
    out.items.push_back({where, std::move(text), gold});
}

}  // namespace

std::string html_to_text(const std::string& html) {
    std::string out;
    out.reserve(html.size());
    const std::string low = lower(html);
    size_t i = 0;
    while (i < html.size()) {
        if (html[i] == '<') {
            if (low.compare(i, 4, "<!--") == 0) {
                const size_t e = low.find("-->", i + 4);
                i = e == std::string::npos ? html.size() : e + 3;
                continue;
            }
            for (const char* raw : {"script", "style"}) {
                if (low.compare(i + 1, std::char_traits<char>::length(raw), raw) == 0) {
                    const size_t e = low.find(std::string("</") + raw, i + 1);
                    if (e == std::string::npos) {
                        i = html.size();
                    } else {
                        i = e;
                    }
                    break;
                }
            }
            if (i >= html.size()) break;
            const size_t e = html.find('>', i);
            i = e == std::string::npos ? html.size() : e + 1;
            out += ' ';
            continue;
        }
        if (html[i] == '&') {
            static const std::pair<const char*, const char*> entities[] = {
                {"&amp;", "&"}, {"&lt;", "<"},   {"&gt;", ">"},  {"&quot;", "\""},
                {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
            bool done = false;
            for (const auto& [name, value] : entities) {
                const size_t len = std::char_traits<char>::length(name);
                if (low.compare(i, len, name) == 0) {
                    out += value;
                    i += len;
                    done = true;
                    break;
                }
            }
            if (done) continue;
        }
        out += html[i++];
    }
    // Collapse the runs of whitespace the tags leave behind.
    std::string collapsed;
    bool space = false;
    for (char c : out) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
        } else {
            if (space && !collapsed.empty()) collapsed += ' ';
            space = false;
            collapsed += c;
        }
    }
    return collapsed;
}

ClassifyInputs gather_classify_inputs(const std::vector<std::string>& paths,
                                      const std::vector<std::string>& labels) {
    ClassifyInputs out;
    for (const auto& p : paths) {
        std::error_code ec;
        const auto st = fs::status(p, ec);
        if (ec || !fs::exists(st)) {
            out.skipped.push_back({p, "does not exist"});
        } else if (fs::is_directory(st)) {
            std::vector<fs::path> files;
            fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
            if (ec) {
                out.skipped.push_back({p, "unreadable folder"});
                continue;
            }
            for (; it != end; it.increment(ec)) {
                if (ec) break;
                std::error_code fe;
                if (it->is_regular_file(fe)) files.push_back(it->path());
            }
            std::sort(files.begin(), files.end());
            for (const auto& f : files) gather_file(f, labels, out);
        } else if (fs::is_regular_file(st)) {
            gather_file(p, labels, out);
        } else {
            out.skipped.push_back({p, "not a file or folder"});
        }
    }
    return out;
}

struct DocumentClassifier::Impl {
    InferenceModel im;
    torch::Device device = torch::kCPU;
};

DocumentClassifier::DocumentClassifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentClassifier::~DocumentClassifier() = default;

std::unique_ptr<DocumentClassifier> DocumentClassifier::open(const std::string& path,
                                                             const std::string& device) {
    auto impl = std::make_unique<Impl>();
    impl->device = resolve_train_device(device);
    impl->im = load_inference_model(path, "best", impl->device);
    if (impl->im.data.task == TaskKind::Pretrain)
        throw InvalidInput(impl->im.checkpoint +
                           " is a pre-training model; classifying needs a fine-tuned classifier");
    if (impl->im.data.lra_kind == "listops" || impl->im.data.lra_kind == "pixels")
        throw InvalidInput("this model was trained on " + impl->im.data.lra_kind + ", not on text documents");
    if (impl->im.data.labels.names().empty()) throw InvalidInput(path + " has no labels");
    impl->im.model->eval();
    return std::unique_ptr<DocumentClassifier>(new DocumentClassifier(std::move(impl)));
}

const std::vector<std::string>& DocumentClassifier::labels() const {
    return impl_->im.data.labels.names();
}
int64_t DocumentClassifier::max_length() const {
    return impl_->im.max_length;
}
std::string DocumentClassifier::checkpoint() const {
    return impl_->im.checkpoint;
}
std::string DocumentClassifier::device() const {
    return impl_->device.str();
}

std::vector<Prediction> DocumentClassifier::classify(const std::vector<std::string>& texts) {
    std::vector<Prediction> out;
    if (texts.empty()) return out;
    InferenceModel& im = impl_->im;
    std::vector<Document> docs(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) docs[i].text = texts[i];
    const auto ex = classification_examples(docs, im.data.tokenizer.get(), im.data.labels, im.max_length,
                                            im.data.lra_kind);
    std::vector<const Example*> ptrs;
    for (const auto& e : ex) ptrs.push_back(&e);
    torch::NoGradGuard no_grad;
    Batch b = collate(ptrs, im.data.collate);
    ModelInputs in = b.to_model_inputs();
    in.labels = torch::Tensor();
    for (auto* t : {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.segment_ids})
        if (t->defined()) *t = t->to(impl_->device);
    const auto logits = im.model->forward(in).logits.to(torch::kCPU, torch::kFloat);
    const auto probs = im.data.labels.multi_label() ? torch::sigmoid(logits) : torch::softmax(logits, 1);
    const auto& names = im.data.labels.names();
    const int64_t k = std::min<int64_t>(3, static_cast<int64_t>(names.size()));
    const auto [values, idx] = probs.topk(k, 1);
    for (size_t i = 0; i < texts.size(); ++i) {
        Prediction p;
        const auto row = static_cast<int64_t>(i);
        for (int64_t j = 0; j < k; ++j)
            p.top.emplace_back(names[static_cast<size_t>(idx[row][j].item<int64_t>())],
                               values[row][j].item<double>());
        p.label = p.top.front().first;
        p.confidence = p.top.front().second;
        // The length before truncation: the tokenizer's ids plus [CLS] and [SEP] (bytes for byte models).
        p.tokens = im.data.lra_kind == "bytes" || !im.data.tokenizer
                       ? static_cast<int64_t>(texts[i].size())
                       : static_cast<int64_t>(im.data.tokenizer->encode(texts[i]).size()) + 2;
        p.truncated = p.tokens > im.max_length;
        out.push_back(std::move(p));
    }
    return out;
}

BatchScore score_predictions(const std::vector<std::string>& gold, const std::vector<std::string>& predicted,
                             const std::vector<std::string>& labels) {
    if (gold.size() != predicted.size()) throw InvalidInput("score_predictions: sizes differ");
    BatchScore s;
    std::vector<int64_t> g, p;
    auto index = [&](const std::string& n) -> int64_t {
        const auto it = std::find(labels.begin(), labels.end(), n);
        return it == labels.end() ? -1 : static_cast<int64_t>(it - labels.begin());
    };
    for (size_t i = 0; i < gold.size(); ++i) {
        const int64_t gi = index(gold[i]), pi = index(predicted[i]);
        if (gi < 0 || pi < 0) continue;
        g.push_back(gi);
        p.push_back(pi);
    }
    s.examples = static_cast<int64_t>(g.size());
    s.confusion.assign(labels.size(), std::vector<int64_t>(labels.size(), 0));
    if (g.empty()) return s;
    const auto r = classification_report(p, g, static_cast<int64_t>(labels.size()));
    s.accuracy = r.accuracy;
    s.macro_f1 = r.macro_f1;
    s.confusion = r.confusion;
    return s;
}

}  // namespace ponet
