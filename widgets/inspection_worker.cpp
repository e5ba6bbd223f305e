#include "widgets/inspection_worker.h"

#include <exception>

namespace ponet::gui {

void registerInspectionMetaTypes() {
    qRegisterMetaType<ponet::gui::InspectionPtr>();
    qRegisterMetaType<ponet::gui::InspectionRequest>();
}

void InspectionWorker::inspect(const InspectionRequest& request) {
    ponet::InspectOptions options;
    options.checkpoint = request.checkpoint.isEmpty() ? std::string("best") : request.checkpoint.toStdString();
    options.max_tokens = request.maxTokens;
    options.cancel = &cancel_;
    const quint64 id = request.id;
    options.progress = [this, id](double f, const std::string& stage) {
        Q_EMIT progress(id, f, QString::fromStdString(stage));
    };
    try {
        auto result = std::make_shared<ponet::Inspection>(ponet::inspect_document(
            request.modelPath.toStdString(), request.text.toStdString(), request.documentName.toStdString(),
            options));
        Q_EMIT finished(id, result);
    } catch (const ponet::InspectionCancelled&) {
        Q_EMIT cancelled(id);
    } catch (const std::exception& e) {
        Q_EMIT failed(id, QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(id, tr("The inspection stopped with an unknown error."));
    }
}

}  // namespace ponet::gui
