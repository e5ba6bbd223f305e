#include "widgets/tokenizer_worker.h"

#include "core/data/tokenizer_training.h"
#include "core/util/error.h"

namespace ponet::gui {

void TokenizerWorker::train(const QString& corpus, const QString& name, const QString& modelType,
                            qint64 vocabSize, const QString& outputRoot) {
    ponet::TokenizerTrainingSpec spec;
    spec.corpus = corpus.toStdString();
    spec.name = name.toStdString();
    spec.spm.model_type = modelType.toStdString();
    spec.spm.vocab_size = vocabSize;
    spec.output_root = outputRoot.toStdString();
    try {
        const ponet::SavedTokenizer saved = ponet::train_tokenizer(
            spec,
            [this](const ponet::TokenizerTrainingProgress& p) {
                Q_EMIT progress(static_cast<int>(p.phase), p.documents, p.bytes);
            },
            &cancel_);
        Q_EMIT finished(QString::fromStdString(saved.name), QString::fromStdString(saved.directory),
                        QString::fromStdString(saved.model_type), saved.vocab_size, saved.lines);
    } catch (const ponet::TrainingCancelled&) {
        Q_EMIT cancelled();
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(tr("the tokenizer training failed for an unknown reason"));
    }
}

}  // namespace ponet::gui
