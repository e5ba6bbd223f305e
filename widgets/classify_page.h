// The Classify page, the analyst's workflow: pick a fine-tuned model, drop files or folders (.txt, .md,
// .html, .jsonl; anything else is listed as skipped with its reason), classify them in batches on a worker
// thread, read the results in a sortable, filterable table with uncertain rows marked, export CSV/JSON, and
// see accuracy, macro-F1 and the confusion matrix where the folders are named after the model's labels.
#pragma once
#include <QAbstractTableModel>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <atomic>
#include <memory>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTableWidget;
class QThread;

namespace ponet {
class DocumentClassifier;
}

namespace ponet::gui {

class InlineMessage;

struct ClassifyRow {
    QString file;
    QString gold;  // the labelled folder's name; empty when unlabelled
    QString label;
    double confidence = 0;
    QString top3;  // "a 0.912; b 0.051; c 0.037"
    qint64 tokens = 0;
    bool truncated = false;
    QString text;  // what the model read (HTML already stripped), for opening the row in the explorer
};

class ClassifyResultModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { File, Label, Confidence, Top3, Tokens, Truncated, Gold, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setRows(QVector<ClassifyRow> rows);
    const QVector<ClassifyRow>& rows() const { return rows_; }
    void setThreshold(double threshold);
    double threshold() const { return threshold_; }
    bool isUncertain(int row) const { return rows_.at(row).confidence < threshold_; }
    int uncertainCount() const;

  private:
    QVector<ClassifyRow> rows_;
    QString shownRoot_;  // the documents' common folder, with its '/': not shown in the File column
    double threshold_ = 0.5;
};

class ClassifyPage : public QWidget {
    Q_OBJECT
  public:
    explicit ClassifyPage(QWidget* parent = nullptr);
    ~ClassifyPage() override;

    void setModelPath(const QString& path);
    QString modelPath() const;
    // The device classification runs on: "cpu" or a CUDA device present ("cuda:0", ...); remembered in the
    // settings. Unknown ids are ignored (false).
    bool setDevice(const QString& device);
    QString device() const;
    QStringList deviceIds() const;  // what the device choice offers: "cpu" first, then each CUDA card
    // The device the last classification ran on, as the loaded model reports it ("cpu", "cuda:0").
    QString classifierDevice() const { return ranOn_; }
    // Classifies these files and folders with the chosen model (replacing the previous results). Returns
    // false, with the reason shown on the page, when busy or no model is chosen.
    bool classifyPaths(const QStringList& paths);
    void cancel();
    bool isBusy() const { return thread_ != nullptr; }

    const ClassifyResultModel* results() const { return results_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QStringList skippedEntries() const { return skipped_; }  // "path — reason"
    bool hasScore() const { return scoredExamples_ > 0; }
    double batchAccuracy() const { return accuracy_; }
    double batchMacroF1() const { return macroF1_; }
    QString errorText() const { return error_; }
    void setThreshold(double threshold);

    // Asks for the row (of results(), not of the sorted view) to be opened in the explorer with this model.
    void openRowInExplorer(int row);

    bool exportCsv(const QString& path, QString* error) const;
    bool exportJson(const QString& path, QString* error) const;

  Q_SIGNALS:
    void busyChanged(bool busy);
    void classificationFinished();  // done, cancelled or failed
    void logMessage(const QString& line);
    // A result row was activated: show `text` (the document as classified, named `name`) in the explorer
    // with the model that classified it.
    void openInExplorerRequested(const QString& modelPath, const QString& text, const QString& name);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    struct Job;
    void chooseModel();
    void chooseFiles();
    void chooseFolder();
    void exportWithDialog(bool json);
    void rememberModel(const QString& path);
    void onProgress(int done, int total);
    void onFinished();
    void updateScoreView(const std::vector<std::vector<int64_t>>& confusion, const QStringList& labels);
    void setBusy(bool busy);

    QComboBox* modelCombo_ = nullptr;
    QComboBox* deviceCombo_ = nullptr;
    QPushButton* browseModelButton_ = nullptr;
    QPushButton* addFilesButton_ = nullptr;
    QPushButton* addFolderButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QPushButton* exportCsvButton_ = nullptr;
    QPushButton* exportJsonButton_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* statusLabel_ = nullptr;
    QLabel* scoreLabel_ = nullptr;
    QDoubleSpinBox* thresholdSpin_ = nullptr;
    QLineEdit* filterEdit_ = nullptr;
    QTableView* table_ = nullptr;
    QTableWidget* confusionTable_ = nullptr;
    QListWidget* skippedList_ = nullptr;
    InlineMessage* message_ = nullptr;
    ClassifyResultModel* results_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;

    QThread* thread_ = nullptr;
    std::shared_ptr<Job> job_;
    std::shared_ptr<ponet::DocumentClassifier>
        classifier_;  // kept between batches; used by one thread at a time
    QString classifierPath_;
    QString classifierDevice_;  // requested for the loaded classifier
    QString ranOn_;
    QStringList skipped_;
    QString error_;
    qint64 scoredExamples_ = 0;
    double accuracy_ = 0, macroF1_ = 0;
};

}  // namespace ponet::gui
