#include "widgets/model_summary_worker.h"

#include <exception>

namespace ponet::gui {

void ModelSummaryWorker::summarize(quint64 requestId, const ponet::ModelConfig& config, qint64 seqLen) {
    // Nothing may escape a worker slot: an exception here would unwind through Qt's event loop.
    try {
        Q_EMIT summarized(requestId, ponet::summarize_model(config, seqLen));
    } catch (const std::exception& e) {
        Q_EMIT failed(requestId, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(requestId, tr("Summarising the model failed with an unknown error."));
    }
}

}  // namespace ponet::gui
