// The Data page: built-in datasets (recipes) with their status and a Get button, the generated LRA tasks, and
// the user's own documents imported by drag-and-drop or a file dialog. It previews the documents, their label
// balance and token lengths, shows the import report and the split sizes, and hands the chosen dataset to a
// run as the data section of a RunConfig. Fetching, importing, generating and tokenising run on a worker
// thread with progress and Cancel.
#pragma once
#include <QThread>
#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

#include "core/data/dataset_profile.h"
#include "core/train/run_config.h"
#include "widgets/dataset_types.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;
class QCustomPlot;

namespace ponet::gui {

class DatasetWorker;
class DocumentTableModel;
class InlineMessage;

class DataPage : public QWidget {
    Q_OBJECT
  public:
    explicit DataPage(QWidget* parent = nullptr);
    ~DataPage() override;

    // Where recipes are fetched to; empty (the default): ponet::datasets_dir(). Rescans the statuses.
    void setDatasetsRoot(const QString& root);

    // Each starts a job on the worker (cancelling the one in progress).
    void importPath(const QString& path, ponet::ImportFormat format = ponet::ImportFormat::Auto);
    void fetchRecipe(const QString& name);
    void loadRecipe(const QString& name);
    void generate(const GenerateRequest& request);
    void setTokenizer(const TokenizerChoice& choice);
    void cancel();
    bool isBusy() const { return busy_; }

    // The dataset shown, as a run's data section (nullopt while there is none); the split seed is the run's
    // train.seed, so applyTo() sets both.
    std::optional<ponet::DataConfig> dataConfig() const;
    // Pre-train for plain text; for labels fine-tune, or LRA when they are read as bytes or pixels; LRA for
    // the generated tasks.
    ponet::TaskKind suggestedTask() const;
    bool applyTo(ponet::RunConfig& config) const;  // false (and nothing changed) without a dataset

    // What the page shows, for tests and the status bar.
    const DocumentTableModel* documents() const { return model_; }
    const LoadedDataset& dataset() const { return dataset_; }
    const std::vector<ponet::LabelCount>& labelBalance() const { return balance_; }
    const ponet::LengthHistogram& lengthHistogram() const { return histogram_; }
    std::optional<ponet::SplitCounts> splitCounts() const { return splitCounts_; }
    QString reportText() const;
    QString messageText() const;
    QString recipeStatusText(const QString& name) const;

  Q_SIGNALS:
    void busyChanged(bool busy);
    void datasetLoaded(const QString& name, qint64 documents);
    // The data a run would get changed (another dataset, tokenizer, fraction or seed).
    void dataSelectionChanged();
    void logMessage(const QString& text);

    // Internal: queued commands to the worker.
    void scanRequested(const QString& root);
    void fetchRequested(quint64 id, const QString& name, const QString& root);
    void loadRecipeRequested(quint64 id, const QString& name, const QString& root);
    void importRequested(quint64 id, const QString& path, int format, const ponet::ImportOptions& options);
    void generateRequested(quint64 id, const ponet::gui::GenerateRequest& request);
    void measureRequested(quint64 id, const ponet::gui::LoadedDataset& dataset,
                          const ponet::gui::TokenizerChoice& tokenizer, const QString& root);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    QWidget* createSourcePanel();
    QWidget* createPreviewPanel();
    void populateSources();
    void onSourceSelected();
    void fitIdColumn();
    quint64 startJob(const QString& what, bool keepMessage = false);
    void finishJob(quint64 id);
    void onRecipeStatus(const ponet::DatasetStatus& status);
    void onProgress(quint64 id, qint64 done, qint64 total, const QString& what);
    void onRecipeFetched(quint64 id, const ponet::DatasetStatus& status);
    void onLoaded(quint64 id, const LoadedDataset& dataset);
    void onLengths(quint64 id, const std::vector<int64_t>& lengths, const QString& tokenizer);
    void onCancelled(quint64 id);
    void onFailed(quint64 id, const QString& message);
    void measureLengths();
    void updateSplits();
    void updateTitle();
    void updateBalancePlot();
    void updateHistogramPlot();
    void onTokenizerIndexChanged(int index);
    void chooseTokenizerFile();
    void chooseImportFolder();
    void chooseImportFile();
    void rememberImport(const QString& path);
    ponet::ImportOptions importOptions() const;
    TokenizerChoice tokenizerChoice() const;

    QString datasetsRoot_;
    LoadedDataset dataset_;
    std::vector<ponet::LabelCount> balance_;
    ponet::LengthHistogram histogram_;
    std::optional<ponet::SplitCounts> splitCounts_;
    QString lengthTokenizer_;  // what measured the lengths shown
    std::vector<ponet::DatasetStatus> recipeStatus_;

    // Widgets.
    QTreeWidget* sources_ = nullptr;
    QTreeWidgetItem* recipesRoot_ = nullptr;
    QTreeWidgetItem* generatedRoot_ = nullptr;
    QTreeWidgetItem* importsRoot_ = nullptr;
    QStackedWidget* actions_ = nullptr;
    QLabel* recipeInfo_ = nullptr;
    QPushButton* getButton_ = nullptr;
    QSpinBox* generateCount_ = nullptr;
    QSpinBox* generateSeed_ = nullptr;
    QSpinBox* generateLength_ = nullptr;
    QLabel* generateLengthLabel_ = nullptr;
    QPushButton* generateButton_ = nullptr;
    QComboBox* importFormat_ = nullptr;
    QLineEdit* textField_ = nullptr;
    QLineEdit* labelField_ = nullptr;
    QLineEdit* textBField_ = nullptr;

    InlineMessage* message_ = nullptr;
    QLabel* title_ = nullptr;
    QLabel* summary_ = nullptr;
    QWidget* busyRow_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* progressText_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QComboBox* tokenizerCombo_ = nullptr;
    QDoubleSpinBox* validation_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QLabel* splitText_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QTableView* table_ = nullptr;
    DocumentTableModel* model_ = nullptr;
    QPlainTextEdit* report_ = nullptr;
    QCustomPlot* balancePlot_ = nullptr;
    QCustomPlot* histogramPlot_ = nullptr;

    // Jobs.
    quint64 nextJob_ = 1;
    quint64 currentJob_ = 0;  // 0: none
    bool busy_ = false;
    quint64 splitRequest_ = 0;  // the newest split plan asked for; older answers are dropped
    bool splitPending_ = false;
    std::unique_ptr<QThread> splitThread_;  // plans the split sizes (hashes every text) off the GUI thread
    QString tokenizerFile_;
    int lastTokenizerIndex_ = 0;
    bool tokenizerChosen_ = false;  // the user picked one; the BERT default no longer applies

    QThread thread_;
    std::unique_ptr<DatasetWorker> worker_;
};

}  // namespace ponet::gui
