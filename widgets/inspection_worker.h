// Runs ponet::inspect_document on its own QThread (the GUI thread never touches LibTorch) and hands the
// tensor-free result to the GUI thread in a shared pointer.
#pragma once
#include <QMetaType>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

#include "core/inspect/inspection.h"

namespace ponet::gui {

using InspectionPtr = std::shared_ptr<const ponet::Inspection>;

// What one inspection needs; `tag` lets the page tell its requests apart (main view, compare side B ...).
struct InspectionRequest {
    quint64 id = 0;
    QString tag;
    QString modelPath;
    QString checkpoint = QStringLiteral("best");
    QString text;
    QString documentName;
    qint64 maxTokens = 0;
};

class InspectionWorker : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;
    // Thread-safe: called from the GUI thread while inspect() runs; the core polls the flag between stages.
    void requestCancel() { cancel_.store(true); }
    void rearm() { cancel_.store(false); }

    Q_SLOT void inspect(const ponet::gui::InspectionRequest& request);

  Q_SIGNALS:
    void progress(quint64 id, double fraction, const QString& stage);
    void finished(quint64 id, const ponet::gui::InspectionPtr& result);
    void failed(quint64 id, const QString& message);
    void cancelled(quint64 id);

  private:
    std::atomic<bool> cancel_{false};
};

// Idempotent.
void registerInspectionMetaTypes();

}  // namespace ponet::gui

Q_DECLARE_METATYPE(ponet::gui::InspectionPtr)
Q_DECLARE_METATYPE(ponet::gui::InspectionRequest)
