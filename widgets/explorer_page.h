// The pooling explorer: what GA, SMP and LMP see in one document, layer by layer. The inspection runs on a
// worker thread (InspectionWorker); the views only paint the arrays it returns.
#pragma once
#include <QHash>
#include <QPointer>
#include <QWidget>

#include "widgets/inspection_worker.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTabWidget;
class QTextBrowser;
class QThread;
class QTimer;
class QToolButton;

namespace ponet::gui {

class TokenTrackView;
class TokenViewport;

class ExplorerPage : public QWidget {
    Q_OBJECT
  public:
    explicit ExplorerPage(QWidget* parent = nullptr);
    ~ExplorerPage() override;

    // Tab ids: "ga", "smp", "lmp", "shares", "compare", "teach".
    static QStringList viewIds();
    void showView(const QString& id);
    QString currentView() const;

    // A model directory, a run directory or one of its checkpoints.
    void setModelPath(const QString& path);
    QString modelPath() const;
    // The run's checkpoint to inspect ("best", "last", "step-N"); only for run directories.
    void setCheckpoint(const QString& which);
    void setDocumentText(const QString& text, const QString& name);
    // A text file, or a dataset file (JSONL/CSV/TSV) whose `index`-th document is taken.
    bool openDocument(const QString& path, int index = -1);
    QString documentName() const { return documentName_; }

    void inspect();  // the main inspection (model + document)
    void cancel();
    bool isBusy() const;
    InspectionPtr inspection() const { return current_; }
    InspectionPtr compareInspection() const { return compareB_; }

    // Navigation.
    void goToToken(qint64 token);
    int search(const QString& text);  // number of hits; selects the first
    void findNext(int direction = 1);
    qint64 selectedToken() const;
    void setLayer(int layer);
    void setHead(int head);  // -1: mean over heads

    // Compare: B is another document, another model, or another checkpoint of the same run (scrubbing).
    void compareWithDocument(const QString& text, const QString& name);
    void compareWithModel(const QString& path, const QString& checkpoint = QStringLiteral("best"));
    QList<qint64> scrubSteps() const { return scrubSteps_; }
    void scrubToStep(qint64 step);

    void setTeachSeed(int seed);

    // Export of the current view: an image (.png, .pdf, .svg where QtSvg is built in) and its numbers.
    bool exportImage(const QString& path, QString* error = nullptr);
    bool exportCsv(const QString& path, QString* error = nullptr);
    static QStringList imageFormats();

    TokenViewport* viewport() const { return viewport_; }
    TokenTrackView* trackView(const QString& viewId) const;
    QCustomPlot* heatmap() const { return heatmap_; }
    QListWidget* topTokensList() const { return topList_; }
    QListWidget* smpSourcesList() const { return smpSources_; }
    QString detailsText() const;
    QString teachHtml() const;

  Q_SIGNALS:
    void logMessage(const QString& text);
    void busyChanged(bool busy);
    void inspected();         // a main inspection finished
    void compareInspected();  // side B finished
    void failed(const QString& message);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    QWidget* buildInputBar();
    QWidget* buildNavigationBar();
    QWidget* buildGaTab();
    QWidget* buildSmpTab();
    QWidget* buildLmpTab();
    QWidget* buildSharesTab();
    QWidget* buildCompareTab();
    QWidget* buildTeachTab();
    void submit(InspectionRequest request);
    void onFinished(quint64 id, const InspectionPtr& result);
    void onFailed(quint64 id, const QString& message);
    void onProgress(quint64 id, double fraction, const QString& stage);
    void showInspection(const InspectionPtr& result);
    void showCompare(const InspectionPtr& result);
    void refreshCheckpoints();
    void refreshLayerViews();
    void refreshDetails();
    void refreshHeatmapRange();
    void updateTeach();
    void setBusy(bool busy);
    void showError(const QString& message);
    void chooseModel();
    void chooseDocument();
    void pasteDocument();
    void chooseCompareDocument();
    void chooseCompareModel();
    void exportWithDialog(bool image);
    QString csvForCurrentView() const;

    QThread* thread_ = nullptr;
    InspectionWorker* worker_ = nullptr;
    quint64 nextId_ = 1;
    QHash<quint64, InspectionRequest> pending_;
    QList<InspectionRequest> queue_;
    bool running_ = false;

    InspectionPtr current_, compareB_;
    QHash<qint64, InspectionPtr> scrubCache_;  // step → result, for the current model and document
    QList<qint64> scrubSteps_;
    QString documentText_, documentName_;
    QString compareText_, compareName_;
    QList<qint64> hits_;
    int hitIndex_ = -1;
    int layer_ = 0, head_ = -1;

    // Input.
    QLineEdit* modelEdit_ = nullptr;
    QComboBox* checkpointCombo_ = nullptr;
    QLabel* documentLabel_ = nullptr;
    QPushButton* inspectButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    // Navigation.
    QComboBox* layerCombo_ = nullptr;
    QComboBox* headCombo_ = nullptr;
    QSpinBox* gotoSpin_ = nullptr;
    QLineEdit* searchEdit_ = nullptr;
    QLabel* hitsLabel_ = nullptr;
    QToolButton* exportButton_ = nullptr;
    // Views.
    QTabWidget* tabs_ = nullptr;
    TokenViewport* viewport_ = nullptr;
    TokenTrackView* gaView_ = nullptr;
    TokenTrackView* smpView_ = nullptr;
    TokenTrackView* lmpView_ = nullptr;
    TokenTrackView* sharesView_ = nullptr;
    QCustomPlot* heatmap_ = nullptr;
    QCPColorMap* colorMap_ = nullptr;
    QListWidget* topList_ = nullptr;
    QListWidget* smpSources_ = nullptr;
    QLabel* sharesSummary_ = nullptr;
    QLabel* details_ = nullptr;
    // Compare.
    TokenViewport* compareViewportB_ = nullptr;
    TokenTrackView* compareA_ = nullptr;
    TokenTrackView* compareB_view_ = nullptr;
    QLabel* compareLabelA_ = nullptr;
    QLabel* compareLabelB_ = nullptr;
    QSlider* scrubSlider_ = nullptr;
    QLabel* scrubLabel_ = nullptr;
    QTimer* scrubTimer_ = nullptr;
    // Teach.
    QTextBrowser* teachBrowser_ = nullptr;
    QSpinBox* teachSeed_ = nullptr;
};

}  // namespace ponet::gui
