// Data preparation for a run: where the documents come from, how they are split and turned into examples.
#include "core/train/task_data.h"

#include "core/text/byte_tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "core/data/importers.h"
#include "core/data/lra.h"
#include "core/data/splits.h"
#include "core/data/xdg.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/wordpiece.h"
#include "core/train/run_directory.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

namespace ponet {

namespace {

bool is_dir(const std::string& p) { return is_directory_at(p); }
bool is_file(const std::string& p) { return is_regular_file_at(p); }
bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void say(const TaskDataHooks& h, const std::string& m) {
    if (h.log) h.log(m);
}

// A fetched recipe's folder (fetching it first when needed).
DatasetStatus fetched_recipe(const Recipe& r, const TaskDataHooks& hooks) {
    FetchOptions o;
    o.progress = hooks.fetch_progress;
    const DatasetStatus before = dataset_status(r);
    if (!before.ready) say(hooks, "fetching dataset '" + r.name + "' (" + r.package + "@" + r.version + ")");
    const FetchResult res = fetch_dataset(r, o);
    if (!res.status.ready)
        throw Error("dataset '" + r.name + "' could not be prepared: " + res.status.problem);
    return res.status;
}

// Documents read from one file or folder at most: a file of a billion lines must not be read into memory
// whole. With data.max_examples the bound follows it (leaving room for the validation and test splits carved
// out of the same documents); without it, ten million documents (a few GB in memory) are the most a run
// reads, and the log says when a file held more.
constexpr int64_t kMaxImportedDocuments = 10'000'000;

ImportOptions import_options(const DataConfig& d) {
    ImportOptions o;
    o.text_field = d.text_field;
    o.label_field = d.label_field;
    o.text_b_field = d.text_b_field;
    o.max_documents = d.max_examples > 0 ? std::min(kMaxImportedDocuments, 4 * d.max_examples + 1000)
                                         : kMaxImportedDocuments;
    return o;
}

std::vector<Document> import_path(const std::string& path, const DataConfig& d, const TaskDataHooks& hooks,
                                  const ImportOptions& options, std::string* format_out = nullptr) {
    if (!is_file(path) && !is_dir(path))
        throw InvalidInput("data: '" + path + "' is neither a dataset recipe nor an existing file or folder");
    const ImportFormat format = parse_import_format(d.format.empty() ? "auto" : d.format);
    ImportResult r = import_documents(path, format, options);
    say(hooks,
        path + ": " + std::to_string(r.documents.size()) + " documents (" + r.report.format + ")" +
            (r.report.skipped.empty() ? "" : ", " + std::to_string(r.report.skipped.size()) + " skipped"));
    if (r.report.stopped_early)
        say(hooks, path + ": reading stopped after " + std::to_string(options.max_documents) +
                       " documents; the rest of the file is not used (data.max_examples sets the bound)");
    if (r.documents.empty()) throw InvalidInput("data: '" + path + "' holds no usable documents");
    if (format_out) *format_out = r.report.format;
    return std::move(r.documents);
}

struct DocumentSplits {
    std::vector<Document> train, dev, test;
    bool train_only = true;  // no explicit dev/test came with the data
    std::string format;
};

// A recipe's files: a file whose name says train/test (IDX) is that split, otherwise the first file is
// everything.
DocumentSplits recipe_documents(const Recipe& r, const DataConfig& d, const TaskDataHooks& hooks, bool text_only) {
    const DatasetStatus s = fetched_recipe(r, hooks);
    DocumentSplits out;
    ImportOptions o = import_options(d);
    if (text_only) o.label_field.clear();
    std::string train_file, test_file;
    for (const auto& [file, n] : s.files) {
        (void)n;
        if (file.find("train-images") != std::string::npos) train_file = file;
        if (file.find("t10k-images") != std::string::npos) test_file = file;
    }
    if (!train_file.empty()) {
        out.train = import_path(s.directory + "/" + train_file, d, hooks, o);
        if (!test_file.empty()) out.test = import_path(s.directory + "/" + test_file, d, hooks, o);
        out.train_only = test_file.empty();
        out.format = "idx";
        return out;
    }
    if (s.files.empty()) throw Error("dataset '" + r.name + "' has no files");
    out.train = import_path(s.directory + "/" + s.files.front().first, d, hooks, o);
    return out;
}

DocumentSplits load_documents(const RunConfig& c, const TaskDataHooks& hooks) {
    const DataConfig& d = c.data;
    DocumentSplits out;
    ImportOptions o = import_options(d);
    // Pre-training reads text only: a corpus without a label field is what it expects, not a file to skip.
    if (c.task == TaskKind::Pretrain) o.label_field.clear();
    // The format of the training file decides how an LRA task reads it (IDX images are pixel sequences).
    if (!d.train.empty()) {
        out.train = import_path(d.train, d, hooks, o, &out.format);
    } else if (const Recipe* r = find_recipe(d.dataset)) {
        out = recipe_documents(*r, d, hooks, c.task == TaskKind::Pretrain);
    } else {
        out.train = import_path(d.dataset, d, hooks, o, &out.format);
    }
    if (!d.validation.empty()) out.dev = import_path(d.validation, d, hooks, o), out.train_only = false;
    if (!d.test.empty()) out.test = import_path(d.test, d, hooks, o), out.train_only = false;
    return out;
}

// Cuts the missing held-out splits out of train. Fine-tuning without any given split holds out a dev and a
// test part so that the final score comes from data model selection never saw.
void fill_missing_splits(DocumentSplits& s, const RunConfig& c, bool want_test) {
    const double f = c.data.validation_fraction;
    const bool need_dev = s.dev.empty() && f > 0;
    const bool need_test = want_test && s.test.empty() && f > 0 && s.train_only;
    if (!need_dev && !need_test) return;
    SplitFractions fr;
    fr.dev = need_dev ? f : 0.0;
    fr.test = need_test ? f : 0.0;
    fr.train = 1.0 - fr.dev - fr.test;
    const auto where = assign_splits(s.train, fr, static_cast<uint64_t>(c.train.seed));
    std::vector<Document> train;
    for (size_t i = 0; i < s.train.size(); ++i) {
        switch (where[i]) {
            case Split::Train:
                train.push_back(std::move(s.train[i]));
                break;
            case Split::Dev:
                s.dev.push_back(std::move(s.train[i]));
                break;
            case Split::Test:
                s.test.push_back(std::move(s.train[i]));
                break;
        }
    }
    s.train = std::move(train);
}

void limit(std::vector<Example>& v, int64_t max_examples) {
    if (max_examples > 0 && static_cast<int64_t>(v.size()) > max_examples)
        v.resize(static_cast<size_t>(max_examples));
}

std::shared_ptr<const std::vector<Example>> share(std::vector<Example> v) {
    return std::make_shared<const std::vector<Example>>(std::move(v));
}

// "listops:train=2000,dev=200,min_length=10" → name and options.
std::pair<std::string, std::map<std::string, std::string>> parse_generator(const std::string& spec) {
    const auto colon = spec.find(':');
    std::pair<std::string, std::map<std::string, std::string>> out{spec.substr(0, colon), {}};
    if (colon == std::string::npos) return out;
    std::stringstream ss(spec.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw InvalidInput("data.dataset: '" + item + "' in '" + spec + "' is not key=value");
        out.second[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return out;
}

class GeneratorOptions {
  public:
    GeneratorOptions(std::string name, std::map<std::string, std::string> values)
        : name_(std::move(name)), values_(std::move(values)) {}
    int64_t get(const std::string& key, int64_t fallback) {
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        try {
            size_t used = 0;
            const int64_t v = std::stoll(it->second, &used);
            if (used == it->second.size()) {
                values_.erase(it);
                return v;
            }
        } catch (const std::exception&) {
        }
        throw InvalidInput("data.dataset: " + name_ + " option " + key + " must be an integer, got '" +
                           it->second + "'");
    }
    void finish(const std::string& known) const {
        if (!values_.empty())
            throw InvalidInput("data.dataset: unknown " + name_ + " option '" + values_.begin()->first +
                               "'; known options are " + known);
    }

  private:
    std::string name_;
    std::map<std::string, std::string> values_;
};

struct Counts {
    int64_t train, dev, test;
};

Counts generator_counts(GeneratorOptions& g, const RunConfig& c, int64_t train_default) {
    Counts n;
    n.train = g.get("train", c.data.max_examples > 0 ? c.data.max_examples : train_default);
    n.dev = g.get("dev", std::max<int64_t>(1, n.train / 10));
    n.test = g.get("test", std::max<int64_t>(1, n.train / 10));
    if (n.train < 1 || n.dev < 1 || n.test < 0)
        throw InvalidInput("data.dataset: generated splits need train >= 1, dev >= 1, test >= 0");
    return n;
}

void generate_listops(TaskData& out, const RunConfig& c, std::map<std::string, std::string> values,
                      const TaskDataHooks& hooks) {
    GeneratorOptions g("listops", std::move(values));
    ListOpsOptions o;
    // The LRA lengths (500..2000) only fit a model of 2,048 positions; a shorter model gets shorter trees.
    o.max_length = g.get("max_length", std::min<int64_t>(1999, c.model.max_length));
    o.min_length = g.get("min_length", std::min<int64_t>(501, std::max<int64_t>(1, o.max_length / 2)));
    o.max_depth = g.get("max_depth", 10);
    o.max_args = g.get("max_args", 10);
    o.seed = static_cast<uint64_t>(g.get("seed", c.train.seed));
    const Counts n = generator_counts(g, c, 10000);
    g.finish("train, dev, test, seed, min_length, max_length, max_depth, max_args");
    ListOpsGenerator gen(o);
    auto make = [&](int64_t count, const char* split) {
        std::vector<Example> v;
        v.reserve(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) {
            const ListOpsExample e = gen.next();
            v.push_back(listops_example(std::string(split) + "-" + std::to_string(i), e.source, e.label,
                                        c.model.max_length));
        }
        return v;
    };
    // One generator for all splits: it never repeats a tree, so no test tree is also a training tree.
    out.train = share(make(n.train, "train"));
    out.dev = share(make(n.dev, "dev"));
    out.test = share(make(n.test, "test"));
    std::vector<std::string> names;
    for (int i = 0; i < 10; ++i) names.push_back(std::to_string(i));
    out.labels = LabelMap(names, false);
    out.vocab_size = static_cast<int64_t>(listops_vocabulary().size()) + 1;
    out.specials = SpecialTokens{0, -1, -1, -1, -1};
    out.lra_kind = "listops";
    say(hooks, "ListOps generated (seed " + std::to_string(o.seed) + ", lengths " +
                   std::to_string(o.min_length) + ".." + std::to_string(o.max_length) +
                   ", depth <= " + std::to_string(o.max_depth) + ")");
}

void generate_pathfinder(TaskData& out, const RunConfig& c, std::map<std::string, std::string> values,
                         const TaskDataHooks& hooks) {
    GeneratorOptions g("pathfinder", std::move(values));
    PathfinderOptions o;
    o.size = g.get("size", 32);
    o.contour_length = g.get("contour_length", o.contour_length);
    o.seed = static_cast<uint64_t>(g.get("seed", c.train.seed));
    const Counts n = generator_counts(g, c, 10000);
    g.finish("train, dev, test, seed, size, contour_length");
    if (o.size * o.size > c.model.max_length)
        throw InvalidInput("data.dataset: pathfinder images of " + std::to_string(o.size) + "x" +
                           std::to_string(o.size) +
                           " need model.max_length >= " + std::to_string(o.size * o.size));
    PathfinderGenerator gen(o);
    auto make = [&](int64_t count, const char* split) {
        std::vector<Example> v;
        for (int64_t i = 0; i < count; ++i) {
            const PathfinderImage im = gen.next();
            LabelledImage li;
            li.width = li.height = im.size;
            li.pixels = im.pixels;
            li.label = im.label;
            v.push_back(image_example(std::string(split) + "-" + std::to_string(i), li, PixelIds::Shifted));
        }
        return v;
    };
    out.train = share(make(n.train, "train"));
    out.dev = share(make(n.dev, "dev"));
    out.test = share(make(n.test, "test"));
    out.labels = LabelMap({"connected", "notconnected"}, false);
    // The generator's label is 1 for connected; LabelMap sorts names, so map 1 → "connected" = 0.
    auto relabel = [](std::shared_ptr<const std::vector<Example>>& v) {
        auto copy = *v;
        for (auto& e : copy) e.label = e.label == 1 ? 0 : 1;
        v = share(std::move(copy));
    };
    relabel(out.train);
    relabel(out.dev);
    relabel(out.test);
    out.vocab_size = 257;
    out.specials = SpecialTokens{0, -1, -1, -1, -1};
    out.lra_kind = "pathfinder";
    say(hooks, "Pathfinder generated (seed " + std::to_string(o.seed) + ", " + std::to_string(o.size) + "x" +
                   std::to_string(o.size) + ")");
}

std::string describe(const TaskData& d) {
    auto n = [](const std::shared_ptr<const std::vector<Example>>& v) { return v ? v->size() : size_t(0); };
    std::ostringstream s;
    s << "examples: train " << n(d.train) << ", dev " << n(d.dev) << ", test " << n(d.test);
    if (d.labels.size() > 0)
        s << "; " << d.labels.size() << " labels" << (d.labels.multi_label() ? " (multi-label)" : "");
    s << "; vocabulary " << d.vocab_size;
    return s.str();
}

}  // namespace

std::shared_ptr<const Tokenizer> resolve_tokenizer(const RunConfig& c, const TaskDataHooks& hooks) {
    if (!hooks.tokenizer_dir.empty()) return load_tokenizer(hooks.tokenizer_dir);
    const std::string& t = c.data.tokenizer;
    if (t == "byte" || t == "bytes") return make_byte_tokenizer();
    if (!t.empty()) {
        if (is_dir(t)) return load_tokenizer(t);
        if (!is_file(t)) throw InvalidInput("data.tokenizer: '" + t + "' does not exist");
        if (ends_with(t, ".model")) return SentencePieceTokenizer::from_file(t);
        return WordPieceTokenizer::from_file(t, c.data.lowercase);
    }
    if (!c.model.dir.empty() && is_file(c.model.dir + "/vocab.txt"))
        return WordPieceTokenizer::from_file(c.model.dir + "/vocab.txt", c.data.lowercase);
    if (!c.model.init_checkpoint.empty()) {
        // A run folder, or a checkpoint inside one (run/checkpoints/step-N).
        for (const std::string& dir :
             {c.model.init_checkpoint + "/tokenizer", c.model.init_checkpoint + "/../../tokenizer"})
            if (is_dir(dir)) return load_tokenizer(dir);
    }
    const Recipe* vocab = find_recipe("bert-vocab");
    if (!vocab) throw Error("no tokenizer given and the bert-vocab recipe is missing");
    const DatasetStatus s = fetched_recipe(*vocab, hooks);
    return WordPieceTokenizer::from_file(s.directory + "/vocab.txt", c.data.lowercase);
}

std::vector<Example> classification_examples(const std::vector<Document>& docs, const Tokenizer* tokenizer,
                                             const LabelMap& labels, int64_t max_length,
                                             const std::string& lra_kind) {
    std::vector<Example> out;
    out.reserve(docs.size());
    if (lra_kind == "bytes") {
        for (const auto& d : docs) out.push_back(byte_text_example(d, labels, max_length));
        return out;
    }
    if (lra_kind == "listops") {
        // The fixed ListOps symbols, as the generated training data were tokenised; the label is the value.
        for (const auto& d : docs) {
            try {
                out.push_back(listops_example(d.id, d.text, -100, max_length));
            } catch (const InvalidInput& e) {
                throw InvalidInput("document " + d.id + ": " + e.what());
            }
            if (!d.labels.empty()) out.back().label = labels.index(d.labels.front());
        }
        return out;
    }
    if (lra_kind == "pixels") {
        for (const auto& d : docs) {
            LabelledImage img;
            img.pixels.assign(d.text.begin(), d.text.end());
            if (img.pixels.size() > static_cast<size_t>(max_length))
                throw InvalidInput("image " + d.id + " has " + std::to_string(img.pixels.size()) +
                                   " pixels; model.max_length is " + std::to_string(max_length));
            if (!d.labels.empty()) img.label = labels.index(d.labels.front());
            out.push_back(image_example(d.id, img, PixelIds::Shifted));
        }
        return out;
    }
    if (!tokenizer) throw InvalidInput("classification needs a tokenizer");
    ClassificationOptions o;
    o.max_length = max_length;
    ClassificationExampleBuilder b(*tokenizer, labels, o);
    for (const auto& d : docs) out.push_back(d.text_b.empty() ? b.document(d) : b.sentence(d));
    return out;
}

void use_lra_batching(CollateOptions& collate, int64_t max_length) {
    collate.mask_pad_ids = true;
    collate.fixed_length = max_length;
}

void use_model_batching(CollateOptions& collate, const ModelConfig& model, int64_t max_length) {
    if (model.mixer == MixerKind::FNet && max_length > 0) collate.fixed_length = max_length;
}

bool fixed_length_pays(const std::vector<Example>& examples, int64_t max_length) {
    if (examples.empty() || max_length <= 0) return false;
    double tokens = 0;
    for (const auto& e : examples) tokens += static_cast<double>(e.input_ids.size());
    return tokens >= 0.75 * static_cast<double>(max_length) * static_cast<double>(examples.size());
}

TaskData prepare_task_data(const RunConfig& c, const TaskDataHooks& hooks) {
    TaskData out;
    out.task = c.task;
    out.collate.pad_id = 0;

    if (c.task == TaskKind::Lra) {
        const auto [name, values] = parse_generator(c.data.dataset);
        if (c.data.train.empty() && name == "listops") {
            generate_listops(out, c, values, hooks);
        } else if (c.data.train.empty() && name == "pathfinder") {
            generate_pathfinder(out, c, values, hooks);
        }
        if (!out.lra_kind.empty()) {
            use_lra_batching(out.collate, c.model.max_length);
            out.summary = describe(out);
            return out;
        }
    }

    DocumentSplits docs = load_documents(c, hooks);
    fill_missing_splits(docs, c, c.task != TaskKind::Pretrain);

    if (c.task == TaskKind::Pretrain) {
        auto tok = resolve_tokenizer(c, hooks);
        out.tokenizer = tok;
        out.specials = tok->special_tokens();
        out.vocab_size = tok->vocab_size();
        if (out.specials.cls < 0 || out.specials.sep < 0 || out.specials.mask < 0)
            throw InvalidInput("pre-training needs a tokenizer with [CLS], [SEP] and [MASK] (got " +
                               tok->kind() + ")");
        // A Brown or Moby-Dick document is one long text: sentences are the corpus rows of §2.1.
        auto rows_of = [&](const std::vector<Document>& d) {
            return tokenize_rows(d, *tok, RowUnit::Sentence);
        };
        SsoOptions so;
        so.max_seq_length = c.model.max_length;
        so.short_seq_prob = c.data.short_seq_prob;
        so.dupe_factor = c.data.dupe_factor;
        so.seed = static_cast<uint64_t>(c.train.seed);
        std::vector<Example> train = SsoPairBuilder(out.specials, so).build(rows_of(docs.train));
        so.dupe_factor = 1;  // validation instances are built once (§2.7)
        so.seed = static_cast<uint64_t>(c.train.seed) + 1;
        std::vector<Example> dev = docs.dev.empty()
                                       ? std::vector<Example>{}
                                       : SsoPairBuilder(out.specials, so).build(rows_of(docs.dev));
        limit(train, c.data.max_examples);
        if (train.empty())
            throw InvalidInput("data: the corpus yields no pre-training pairs (too few sentences)");
        out.train = share(std::move(train));
        out.dev = share(std::move(dev));
        out.test = share({});
        out.collate.pad_id = out.specials.pad;
        out.summary = describe(out);
        return out;
    }

    // Classification (fine-tuning, and LRA text/images from files or recipes).
    std::vector<Document> all = docs.train;
    all.insert(all.end(), docs.dev.begin(), docs.dev.end());
    all.insert(all.end(), docs.test.begin(), docs.test.end());
    for (const auto& d : docs.train)
        if (d.labels.empty())
            throw InvalidInput("data: document " + d.id + " has no label (field '" + c.data.label_field +
                               "'); fine-tuning needs labelled data");
    out.labels = LabelMap::from_documents(all);
    if (c.data.multi_label && !out.labels.multi_label()) out.labels = LabelMap(out.labels.names(), true);
    if (out.labels.size() < 2) throw InvalidInput("data: fine-tuning needs at least two labels");

    if (c.task == TaskKind::Lra) {
        out.lra_kind = docs.format == "idx" ? "pixels" : "bytes";
        out.vocab_size = 257;
        out.specials = SpecialTokens{0, -1, -1, -1, -1};
        use_lra_batching(out.collate, c.model.max_length);
        if (out.lra_kind == "bytes") out.tokenizer = make_byte_tokenizer();
    } else {
        auto tok = resolve_tokenizer(c, hooks);
        out.tokenizer = tok;
        out.specials = tok->special_tokens();
        out.vocab_size = tok->vocab_size();
        out.collate.pad_id = std::max<int64_t>(0, out.specials.pad);
    }
    auto build = [&](const std::vector<Document>& d) {
        std::vector<Example> v =
            classification_examples(d, out.tokenizer.get(), out.labels, c.model.max_length, out.lra_kind);
        return v;
    };
    std::vector<Example> train = build(docs.train);
    limit(train, c.data.max_examples);
    out.train = share(std::move(train));
    out.dev = share(build(docs.dev));
    out.test = share(build(docs.test));
    out.summary = describe(out);
    return out;
}

void save_task_artifacts(const TaskData& data, const RunDirectory& dir) {
    if (data.tokenizer) data.tokenizer->save(dir.tokenizer_dir());
    if (data.labels.size() > 0) dir.save_labels(data.labels.names());
}

std::shared_ptr<const Tokenizer> make_byte_tokenizer() { return std::make_shared<ByteTokenizer>(); }

}  // namespace ponet
