// Computes model summaries off the GUI thread: ponet::summarize_model builds the model in LibTorch, which can
// take a noticeable moment for a base-size shape, and the GUI thread never touches LibTorch.
#pragma once
#include <QObject>
#include <QString>

#include "widgets/core_metatypes.h"

namespace ponet::gui {

// Lives on its own QThread; commands come in as queued calls of summarize().
class ModelSummaryWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    Q_SLOT void summarize(quint64 requestId, const ponet::ModelConfig& config, qint64 seqLen);

  Q_SIGNALS:
    void summarized(quint64 requestId, const ponet::ModelSummary& summary);
    void failed(quint64 requestId, const QString& message);
};

}  // namespace ponet::gui
