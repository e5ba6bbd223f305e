// Computes model summaries off the GUI thread: ponet::summarize_model is part of the LibTorch core, which the GUI
// thread never calls into.
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
