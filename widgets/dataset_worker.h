// The Data page's worker: fetches recipes, imports user files, generates the LRA tasks and tokenises documents
// to measure their lengths, all on its own QThread. Each job carries an id; the page cancels every job below
// an id, which the job notices at its next document (or download tick) and reports as cancelled.
#pragma once
#include <QObject>
#include <QString>

#include <atomic>
#include <map>
#include <memory>

#include "widgets/dataset_types.h"

namespace ponet {
class Tokenizer;
}

namespace ponet::gui {

class DatasetWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;
    ~DatasetWorker() override;

    // Thread-safe: jobs with an id below `id` stop at their next check.
    void cancelBefore(quint64 id) { cancelBefore_.store(id); }

    // `datasetsRoot` empty: ponet::datasets_dir().
    Q_SLOT void scanRecipes(const QString& datasetsRoot);
    Q_SLOT void fetchRecipe(quint64 id, const QString& name, const QString& datasetsRoot);
    Q_SLOT void loadRecipe(quint64 id, const QString& name, const QString& datasetsRoot);
    Q_SLOT void importPath(quint64 id, const QString& path, int format, const ponet::ImportOptions& options);
    Q_SLOT void generate(quint64 id, const ponet::gui::GenerateRequest& request);
    Q_SLOT void measureLengths(quint64 id, const ponet::gui::LoadedDataset& dataset,
                               const ponet::gui::TokenizerChoice& tokenizer, const QString& datasetsRoot);

  Q_SIGNALS:
    void recipeStatus(const ponet::DatasetStatus& status);
    // `done` of `total` (total < 0: unknown), and what is being done, for the progress bar.
    void progress(quint64 id, qint64 done, qint64 total, const QString& what);
    void recipeFetched(quint64 id, const ponet::DatasetStatus& status);
    void loaded(quint64 id, const ponet::gui::LoadedDataset& dataset);
    void lengthsMeasured(quint64 id, const std::vector<int64_t>& lengths, const QString& tokenizer);
    void cancelled(quint64 id);
    void failed(quint64 id, const QString& message);

  private:
    bool isCancelled(quint64 id) const { return id < cancelBefore_.load(); }
    void throwIfCancelled(quint64 id) const;
    std::shared_ptr<const ponet::Tokenizer> tokenizerFor(const TokenizerChoice& choice,
                                                         const QString& datasetsRoot, QString* description);
    // Runs `job`, turning a cancellation into cancelled(id) and any error into failed(id, message).
    template <class Job>
    void guarded(quint64 id, Job&& job);

    std::atomic<quint64> cancelBefore_{0};
    std::map<QString, std::shared_ptr<const ponet::Tokenizer>> tokenizers_;  // loaded once per file
};

}  // namespace ponet::gui

Q_DECLARE_METATYPE(std::vector<int64_t>)
