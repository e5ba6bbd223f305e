// The Model page: pick a built-in model shape or open a model directory, and see its configuration,
// parameter groups and memory estimates.
#pragma once
#include <QThread>
#include <QWidget>

#include <memory>
#include <optional>

#include "widgets/core_metatypes.h"
#include "widgets/model_source.h"

class QComboBox;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QSpinBox;
class QTableWidget;

namespace ponet::gui {

class CostPreview;
class InlineMessage;
class ModelSummaryWorker;
class TokenizerPanel;

class ModelPage : public QWidget {
    Q_OBJECT
  public:
    explicit ModelPage(QWidget* parent = nullptr);
    ~ModelPage() override;

    // Starts showing the model at `path` (a model directory or its config.json) as a user action: clears an
    // earlier error. Returns false, shows the error in the page and keeps the current model when the
    // configuration cannot be read; the summary itself is computed in the background.
    bool openModelDirectory(const QString& path);
    // Shows ponet-base-uncased, else the first built-in shape; leaves any error on display.
    void showDefaultModel();
    // Asks for a directory with a file dialog, then opens it.
    void chooseModelDirectory();

    QString currentModelName() const;  // empty until a model is shown
    QString currentModelDirectory() const;
    std::optional<ponet::ModelSummary> currentSummary() const;
    QString errorText() const;  // empty when no error is on display
    bool isBusy() const;  // summarising, or training a tokenizer

    // The sequence length the user asked for; the shown one is capped at the model's max positions.
    int requestedSequenceLength() const { return requestedSeqLen_; }
    void setRequestedSequenceLength(int length);

    // The cost preview (time and memory per step from the benchmark cache) and its devices.
    CostPreview* costPreview() const { return costPreview_; }
    // Scrolls the overview to one of its parts: "configuration", "tokenizer" or "cost"; false for another name.
    bool showSection(const QString& name);
    // The run's tokenizer and SentencePiece training on a corpus.
    TokenizerPanel* tokenizerPanel() const { return tokenizerPanel_; }
    void setDevices(const QStringList& devices);
    // Follows the window's compute device (the preview keeps its own while it measures).
    void setDevice(const QString& device);

  Q_SIGNALS:
    // A model (or a new sequence length) is on display with its summary.
    void modelShown(const QString& name, const QString& directory);
    void loadFailed(const QString& message);
    void busyChanged(bool busy);
    // The run's tokenizer changed (data.tokenizer: "", "byte" or a trained model's folder).
    void tokenizerChosen(const QString& value);
    void logMessage(const QString& text);
    // Internal: the queued command to the summary worker.
    void summaryRequested(quint64 requestId, const ponet::ModelConfig& config, qint64 seqLen);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    struct Request {
        quint64 id = 0;
        ModelSource source;
        qint64 seqLen = 0;
    };

    QWidget* buildConfigurationBox();
    QWidget* buildParametersBox();
    QWidget* buildMemoryBox();
    QWidget* buildCostBox();
    QWidget* buildTokenizerBox();
    bool load(const QString& path);
    void request(const ModelSource& source);
    void dispatch(Request request);
    const ModelSource* latestSource() const;
    void onSummarized(quint64 requestId, const ponet::ModelSummary& summary);
    void onSummaryFailed(quint64 requestId, const QString& message);
    void finishRequest();
    void setBusy(bool busy);
    void display(const ModelSource& source, const ponet::ModelSummary& summary);
    void showError(const QString& message);
    void selectComboEntry(const QString& directory);
    void onComboActivated(int index);
    void onSequenceLengthChanged(int value);

    QComboBox* modelCombo_ = nullptr;
    QPushButton* openButton_ = nullptr;
    QSpinBox* seqLenSpin_ = nullptr;
    InlineMessage* message_ = nullptr;
    QLabel* titleLabel_ = nullptr;
    QLabel* sourceLabel_ = nullptr;
    QFormLayout* configForm_ = nullptr;
    QTableWidget* groupTable_ = nullptr;
    QLabel* totalLabel_ = nullptr;
    QLabel* weightsLabel_ = nullptr;
    QLabel* trainingStateLabel_ = nullptr;
    QLabel* activationCaption_ = nullptr;
    QLabel* activationLabel_ = nullptr;
    QPlainTextEdit* jsonView_ = nullptr;
    CostPreview* costPreview_ = nullptr;
    TokenizerPanel* tokenizerPanel_ = nullptr;
    QScrollArea* overviewScroll_ = nullptr;
    QWidget* configurationBox_ = nullptr;
    int builtinCount_ = 0;

    std::optional<ModelSource> shown_;
    std::optional<ponet::ModelSummary> shownSummary_;
    quint64 shownRequestId_ = 0;
    quint64 nextRequestId_ = 1;
    std::optional<Request> inFlight_;
    std::optional<Request> queued_;  // only the newest waiting request survives
    int requestedSeqLen_ = 512;
    bool busy_ = false;

    QThread summaryThread_;
    std::unique_ptr<ModelSummaryWorker> worker_;
};

}  // namespace ponet::gui
