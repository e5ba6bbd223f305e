#include "widgets/dataset_worker.h"

#include <QFileInfo>

#include <algorithm>
#include <exception>

#include "core/data/lra.h"
#include "core/data/xdg.h"
#include "core/text/byte_tokenizer.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/wordpiece.h"
#include "core/util/error.h"

namespace ponet::gui {
namespace {

// Thrown from inside the core's callbacks (document sink, download tick) to unwind a cancelled job.
struct JobCancelled {};

constexpr int kProgressEvery = 256;  // documents between progress signals

std::string utf8(const QString& s) {
    return s.toStdString();
}

QString qstr(const std::string& s) {
    return QString::fromStdString(s);
}

std::string rootOrDefault(const QString& root) {
    return root.isEmpty() ? ponet::datasets_dir() : utf8(root);
}

QString stageText(const std::string& stage) {
    if (stage == "download") return DatasetWorker::tr("Downloading");
    if (stage == "verify") return DatasetWorker::tr("Verifying the checksum");
    if (stage == "extract") return DatasetWorker::tr("Unpacking");
    if (stage == "convert") return DatasetWorker::tr("Converting");
    return DatasetWorker::tr("Finishing");
}

}  // namespace

DatasetWorker::~DatasetWorker() = default;

void DatasetWorker::throwIfCancelled(quint64 id) const {
    if (isCancelled(id)) throw JobCancelled{};
}

template <class Job>
void DatasetWorker::guarded(quint64 id, Job&& job) {
    // Nothing may escape a worker slot: an exception would unwind through Qt's event loop.
    try {
        throwIfCancelled(id);
        job();
    } catch (const JobCancelled&) {
        Q_EMIT cancelled(id);
    } catch (const std::exception& e) {
        if (isCancelled(id)) {
            Q_EMIT cancelled(id);
        } else {
            Q_EMIT failed(id, qstr(e.what()));
        }
    } catch (...) {
        Q_EMIT failed(id, tr("The operation failed with an unknown error."));
    }
}

void DatasetWorker::scanRecipes(const QString& datasetsRoot) {
    for (const ponet::Recipe& r : ponet::recipes()) {
        try {
            Q_EMIT recipeStatus(ponet::dataset_status(r, rootOrDefault(datasetsRoot)));
        } catch (const std::exception& e) {
            ponet::DatasetStatus s;
            s.name = r.name;
            s.problem = e.what();
            Q_EMIT recipeStatus(s);
        }
    }
}

void DatasetWorker::fetchRecipe(quint64 id, const QString& name, const QString& datasetsRoot) {
    guarded(id, [&] {
        const ponet::Recipe* recipe = ponet::find_recipe(utf8(name));
        if (!recipe) throw ponet::InvalidInput("there is no built-in dataset named '" + utf8(name) + "'");
        ponet::FetchOptions o;
        o.datasets_root = rootOrDefault(datasetsRoot);
        o.progress = [this, id](const ponet::FetchProgress& p) {
            throwIfCancelled(id);
            Q_EMIT progress(id, p.bytes, p.total, stageText(p.stage));
        };
        const ponet::FetchResult r = ponet::fetch_dataset(*recipe, o);
        Q_EMIT recipeStatus(r.status);
        Q_EMIT recipeFetched(id, r.status);
    });
}

void DatasetWorker::loadRecipe(quint64 id, const QString& name, const QString& datasetsRoot) {
    guarded(id, [&] {
        const ponet::Recipe* recipe = ponet::find_recipe(utf8(name));
        if (!recipe) throw ponet::InvalidInput("there is no built-in dataset named '" + utf8(name) + "'");
        const ponet::DatasetStatus s = ponet::dataset_status(*recipe, rootOrDefault(datasetsRoot));
        if (!s.ready)
            throw ponet::InvalidInput("'" + s.name + "' is not fetched yet" +
                                      (s.problem.empty() ? std::string() : ": " + s.problem));
        if (s.files.empty()) throw ponet::Error("'" + s.name + "' has no files");
        // The file a run trains on (task_data.cpp): the IDX training images, else the first file.
        std::string file = s.files.front().first;
        for (const auto& [f, n] : s.files) {
            (void)n;
            if (f.find("train-images") != std::string::npos) file = f;
        }
        auto docs = std::make_shared<std::vector<ponet::Document>>();
        int64_t count = 0;
        LoadedDataset out;
        out.origin = DatasetOrigin::Recipe;
        out.name = name;
        out.path = name;
        out.format = ponet::detect_import_format(s.directory + "/" + file);
        out.images = out.format == ponet::ImportFormat::Idx || out.format == ponet::ImportFormat::Cifar;
        out.report = ponet::import_documents(s.directory + "/" + file, out.format, out.options,
                                             [&](ponet::Document&& d) {
                                                 if (++count % kProgressEvery == 0) {
                                                     throwIfCancelled(id);
                                                     Q_EMIT progress(id, count, -1, tr("Reading documents"));
                                                 }
                                                 docs->push_back(std::move(d));
                                             });
        out.documents = std::move(docs);
        Q_EMIT loaded(id, out);
    });
}

void DatasetWorker::importPath(quint64 id, const QString& path, int format, const ponet::ImportOptions& options) {
    guarded(id, [&] {
        LoadedDataset out;
        out.origin = DatasetOrigin::Import;
        out.path = path;
        out.name = QFileInfo(path).fileName();
        out.options = options;
        out.format = static_cast<ponet::ImportFormat>(format);
        if (out.format == ponet::ImportFormat::Auto) out.format = ponet::detect_import_format(utf8(path));
        out.images = out.format == ponet::ImportFormat::Idx || out.format == ponet::ImportFormat::Cifar;
        auto docs = std::make_shared<std::vector<ponet::Document>>();
        int64_t count = 0;
        out.report = ponet::import_documents(utf8(path), out.format, options, [&](ponet::Document&& d) {
            if (++count % kProgressEvery == 0) {
                throwIfCancelled(id);
                Q_EMIT progress(id, count, -1, tr("Reading documents"));
            }
            docs->push_back(std::move(d));
        });
        throwIfCancelled(id);
        out.documents = std::move(docs);
        Q_EMIT loaded(id, out);
    });
}

void DatasetWorker::generate(quint64 id, const GenerateRequest& request) {
    guarded(id, [&] {
        if (request.count < 1) throw ponet::InvalidInput("generate at least one example");
        LoadedDataset out;
        out.origin = request.kind;
        out.generated = request;
        auto docs = std::make_shared<std::vector<ponet::Document>>();
        docs->reserve(static_cast<size_t>(request.count));
        out.lengths.reserve(static_cast<size_t>(request.count));
        auto tick = [&](qint64 i) {
            if ((i + 1) % 64 == 0) {
                throwIfCancelled(id);
                Q_EMIT progress(id, i + 1, request.count, tr("Generating"));
            }
        };
        if (request.kind == DatasetOrigin::ListOps) {
            out.name = tr("ListOps");
            ponet::ListOpsOptions o;
            o.max_length = request.maxLength;
            o.min_length = std::min<int64_t>(501, std::max<int64_t>(1, request.maxLength / 2));
            o.seed = static_cast<uint64_t>(request.seed);
            ponet::ListOpsGenerator gen(o);
            for (qint64 i = 0; i < request.count; ++i) {
                const ponet::ListOpsExample e = gen.next();
                ponet::Document d;
                d.id = "train-" + std::to_string(i);
                d.text = e.source;
                d.labels = {std::to_string(e.label)};
                d.source = "listops";
                docs->push_back(std::move(d));
                out.lengths.push_back(e.length);
                tick(i);
            }
            out.report.format = "listops";
        } else if (request.kind == DatasetOrigin::Pathfinder) {
            out.name = tr("Pathfinder");
            out.images = true;
            ponet::PathfinderOptions o;
            o.size = request.imageSize;
            o.seed = static_cast<uint64_t>(request.seed);
            ponet::PathfinderGenerator gen(o);
            for (qint64 i = 0; i < request.count; ++i) {
                const ponet::PathfinderImage im = gen.next();
                ponet::Document d;
                d.id = "train-" + std::to_string(i);
                d.text.assign(im.pixels.begin(), im.pixels.end());
                d.labels = {im.label == 1 ? "connected" : "notconnected"};
                d.source = "pathfinder";
                docs->push_back(std::move(d));
                out.lengths.push_back(im.size * im.size);
                tick(i);
            }
            out.report.format = "pathfinder";
        } else {
            throw ponet::InvalidInput("only ListOps and Pathfinder can be generated");
        }
        out.report.documents = static_cast<int64_t>(docs->size());
        for (const auto& d : *docs) ++out.report.label_counts[d.labels.front()];
        out.documents = std::move(docs);
        Q_EMIT loaded(id, out);
    });
}

std::shared_ptr<const ponet::Tokenizer> DatasetWorker::tokenizerFor(const TokenizerChoice& choice,
                                                                    const QString& datasetsRoot,
                                                                    QString* description) {
    if (choice.kind == TokenizerChoice::Kind::Bytes) {
        *description = tr("bytes");
        static const auto bytes = std::make_shared<const ponet::ByteTokenizer>();
        return bytes;
    }
    std::string path = utf8(choice.path);
    if (choice.kind == TokenizerChoice::Kind::Bert) {
        const ponet::Recipe* vocab = ponet::find_recipe("bert-vocab");
        const ponet::DatasetStatus s =
            vocab ? ponet::dataset_status(*vocab, rootOrDefault(datasetsRoot)) : ponet::DatasetStatus{};
        if (!s.ready)
            throw ponet::InvalidInput(
                utf8(tr("The BERT vocabulary is not on this computer yet: press Get on “bert-vocab”, or "
                        "choose a vocab.txt as the tokenizer.")));
        path = s.directory + "/vocab.txt";
        *description = tr("BERT WordPiece");
    } else {
        *description = QFileInfo(choice.path).fileName();
    }
    const QString key = qstr(path) + (choice.lowercase ? QStringLiteral("|lower") : QStringLiteral("|cased"));
    if (auto it = tokenizers_.find(key); it != tokenizers_.end()) return it->second;
    std::shared_ptr<const ponet::Tokenizer> tok;
    const QFileInfo info(qstr(path));
    if (info.isDir()) {
        tok = ponet::load_tokenizer(path);
    } else if (!info.isFile()) {
        throw ponet::InvalidInput("the tokenizer '" + path + "' does not exist");
    } else if (info.suffix().compare(QStringLiteral("model"), Qt::CaseInsensitive) == 0) {
        tok = ponet::SentencePieceTokenizer::from_file(path);
    } else {
        tok = ponet::WordPieceTokenizer::from_file(path, choice.lowercase);
    }
    tokenizers_[key] = tok;
    return tok;
}

void DatasetWorker::measureLengths(quint64 id, const LoadedDataset& dataset, const TokenizerChoice& tokenizer,
                                   const QString& datasetsRoot) {
    guarded(id, [&] {
        if (!dataset.documents) throw ponet::InvalidInput("no documents to measure");
        QString description;
        const auto tok = tokenizerFor(tokenizer, datasetsRoot, &description);
        const auto& docs = *dataset.documents;
        std::vector<int64_t> lengths;
        lengths.reserve(docs.size());
        const auto total = static_cast<qint64>(docs.size());
        for (qint64 i = 0; i < total; ++i) {
            const ponet::Document& d = docs[static_cast<size_t>(i)];
            int64_t n = static_cast<int64_t>(tok->encode(d.text).size());
            if (!d.text_b.empty()) n += static_cast<int64_t>(tok->encode(d.text_b).size());
            lengths.push_back(n);
            if ((i + 1) % kProgressEvery == 0) {
                throwIfCancelled(id);
                Q_EMIT progress(id, i + 1, total, tr("Tokenising"));
            }
        }
        Q_EMIT lengthsMeasured(id, lengths, description);
    });
}

void registerDatasetMetaTypes() {
    qRegisterMetaType<LoadedDataset>();
    qRegisterMetaType<GenerateRequest>();
    qRegisterMetaType<TokenizerChoice>();
    qRegisterMetaType<ponet::ImportOptions>();
    qRegisterMetaType<ponet::DatasetStatus>();
    qRegisterMetaType<std::vector<int64_t>>();
}

}  // namespace ponet::gui
