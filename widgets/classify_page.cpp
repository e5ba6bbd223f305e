// ClassifyPage (classify_page.h): the GUI thread only gathers paths and shows results; opening the model,
// reading the files and classifying run on a worker QThread, which reports progress through queued calls.
#include "widgets/classify_page.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QThread>
#include <QUrl>
#include <QVBoxLayout>

#include <exception>

#include "core/train/document_classifier.h"
#include "core/util/compute_devices.h"
#include "widgets/inline_message.h"
#include "widgets/number_format.h"
#include "widgets/widget_helpers.h"

namespace ponet::gui {

namespace {

const char kRecentModelsKey[] = "classify/recentModels";
const char kExportDirKey[] = "classify/lastExportDir";
const char kDeviceKey[] = "classify/device";
constexpr int kMaxRecentModels = 8;
constexpr int kBatchSize = 16;

QString csvField(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n')) &&
        !s.contains(QLatin1Char('\r')))
        return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

bool writeAtomically(const QString& path, const QByteArray& bytes, QString* error) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit()) {
        if (error) *error = QObject::tr("Could not write %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

}  // namespace

// ---- ClassifyResultModel ----

int ClassifyResultModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : rows_.size();
}
int ClassifyResultModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClassifyResultModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_.size()) return {};
    const ClassifyRow& r = rows_.at(index.row());
    const bool uncertain = r.confidence < threshold_;
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case File:
                return shownRoot_.isEmpty() || !r.file.startsWith(shownRoot_) ? r.file : r.file.mid(shownRoot_.size());
            case Label:
                return uncertain ? tr("%1 (uncertain)").arg(r.label) : r.label;
            case Confidence:
                return QString::number(r.confidence, 'f', 3);
            case Top3:
                return r.top3;
            case Tokens:
                return r.tokens;
            case Truncated:
                return r.truncated ? tr("yes") : tr("no");
            case Gold:
                return r.gold;
            default:
                return {};
        }
    }
    if (role == Qt::UserRole) {  // sort keys
        switch (index.column()) {
            case Confidence:
                return r.confidence;
            case Tokens:
                return r.tokens;
            case Truncated:
                return r.truncated ? 1 : 0;
            case Label:
                return r.label;
            default:
                return data(index, Qt::DisplayRole);
        }
    }
    if (role == Qt::BackgroundRole && uncertain) return QColor(255, 236, 200);
    if (role == Qt::ToolTipRole && index.column() == File) return r.file;
    if (role == Qt::ToolTipRole && uncertain)
        return tr("Confidence %1 is below the threshold %2")
            .arg(r.confidence, 0, 'f', 3)
            .arg(threshold_, 0, 'f', 2);
    if (role == Qt::TextAlignmentRole && (index.column() == Confidence || index.column() == Tokens))
        return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant ClassifyResultModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
            case File:
                return tr("The document, below the folder the batch's documents share (the tooltip has the whole path)");
            case Label:
                return tr("The label the model predicts");
            case Confidence:
                return tr("The model's probability for its prediction");
            case Top3:
                return tr("The three most probable labels");
            case Tokens:
                return tr("Tokens the model read (at most its maximum length)");
            case Truncated:
                return tr("Whether the document was longer than the model reads");
            case Gold:
                return tr("The label the document's folder names, where it is one of the model's: scored "
                          "against the prediction");
            default:
                return {};
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
        case File:
            return tr("File");
        case Label:
            return tr("Prediction");
        case Confidence:
            return tr("Confidence");
        case Top3:
            return tr("Top 3");
        case Tokens:
            return tr("Tokens");
        case Truncated:
            return tr("Truncated");
        case Gold:
            return tr("Folder");
        default:
            return {};
    }
}

void ClassifyResultModel::setRows(QVector<ClassifyRow> rows) {
    beginResetModel();
    rows_ = std::move(rows);
    // The folder all the documents share, up to its last '/': the table shows the paths below it (the whole
    // path is the tooltip and what the exports write).
    shownRoot_.clear();
    for (int i = 0; i < rows_.size(); ++i) {
        const QString dir = rows_.at(i).file.left(rows_.at(i).file.lastIndexOf(QLatin1Char('/')) + 1);
        if (i == 0) {
            shownRoot_ = dir;
            continue;
        }
        qsizetype n = 0;
        while (n < shownRoot_.size() && n < dir.size() && shownRoot_.at(n) == dir.at(n)) ++n;
        shownRoot_.truncate(n > 0 ? shownRoot_.lastIndexOf(QLatin1Char('/'), n - 1) + 1 : 0);
    }
    // Documents with only the file system's root in common keep their whole paths (else they would look relative).
    if (shownRoot_ == QLatin1String("/") || (shownRoot_.size() == 3 && shownRoot_.endsWith(QLatin1String(":/"))))
        shownRoot_.clear();
    endResetModel();
}

void ClassifyResultModel::setThreshold(double threshold) {
    threshold_ = threshold;
    if (!rows_.isEmpty()) Q_EMIT dataChanged(index(0, 0), index(rows_.size() - 1, ColumnCount - 1));
}

int ClassifyResultModel::uncertainCount() const {
    int n = 0;
    for (const auto& r : rows_) n += r.confidence < threshold_ ? 1 : 0;
    return n;
}

// ---- the worker's job ----

struct ClassifyPage::Job {
    std::atomic<bool> cancel{false};
    // Written by the worker thread only; read by the GUI thread after the thread has finished.
    QVector<ClassifyRow> rows;
    QStringList skipped;
    QStringList labels;
    QString error;
    QString device;  // where the model ran
    bool cancelled = false;
    ponet::BatchScore score;
};

// ---- ClassifyPage ----

ClassifyPage::ClassifyPage(QWidget* parent) : QWidget(parent) {
    setAcceptDrops(true);
    auto* layout = new QVBoxLayout(this);

    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(new QLabel(tr("Model:"), this));
    modelCombo_ = new QComboBox(this);
    modelCombo_->setEditable(true);
    modelCombo_->setObjectName(QStringLiteral("classifyModelCombo"));
    modelCombo_->setToolTip(
        tr("A fine-tuned run directory or an exported model directory; recent models are listed"));
    modelCombo_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    modelCombo_->addItems(QSettings().value(QLatin1String(kRecentModelsKey)).toStringList());
    modelCombo_->setCurrentIndex(modelCombo_->count() > 0 ? 0 : -1);
    modelRow->addWidget(modelCombo_, 1);
    browseModelButton_ = new QPushButton(tr("Choose model…"), this);
    modelRow->addWidget(browseModelButton_);
    auto* deviceLabel = new QLabel(tr("&Device:"), this);
    modelRow->addWidget(deviceLabel);
    deviceCombo_ = new QComboBox(this);
    deviceCombo_->setObjectName(QStringLiteral("classifyDevice"));
    deviceCombo_->setToolTip(tr("Where the model runs: the CPU, or a CUDA GPU when one is present"));
    for (const ponet::ComputeDevice& d : ponet::compute_devices()) {
        const QString id = QString::fromStdString(d.id);
        deviceCombo_->addItem(d.id == "cpu" ? tr("CPU") : tr("%1 · %2").arg(id, QString::fromStdString(d.name)), id);
        if (d.memory_bytes > 0)
            deviceCombo_->setItemData(deviceCombo_->count() - 1, tr("%1 of memory").arg(formatBytes(d.memory_bytes)),
                                      Qt::ToolTipRole);
    }
    if (deviceCombo_->findData(QStringLiteral("cpu")) < 0) deviceCombo_->insertItem(0, tr("CPU"), QStringLiteral("cpu"));
    deviceLabel->setBuddy(deviceCombo_);
    // The remembered device, or the CPU when that card is gone.
    const int saved = deviceCombo_->findData(QSettings().value(QLatin1String(kDeviceKey)).toString());
    deviceCombo_->setCurrentIndex(saved >= 0 ? saved : 0);
    connect(deviceCombo_, &QComboBox::currentIndexChanged, this,
            [this] { QSettings().setValue(QLatin1String(kDeviceKey), device()); });
    modelRow->addWidget(deviceCombo_);
    layout->addLayout(modelRow);

    auto* actions = new QHBoxLayout;
    addFilesButton_ = new QPushButton(tr("Classify files…"), this);
    addFolderButton_ = new QPushButton(tr("Classify folder…"), this);
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("classifyProgress"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    hideKeepingRoom(progress_);  // until the first run
    actions->addWidget(addFilesButton_);
    actions->addWidget(addFolderButton_);
    actions->addWidget(progress_, 1);
    actions->addWidget(cancelButton_);
    layout->addLayout(actions);

    statusLabel_ = new QLabel(tr("Drop files or folders here (.txt, .md, .html, .jsonl). Folders named after "
                                 "the model's labels are scored."),
                              this);
    statusLabel_->setWordWrap(true);
    layout->addWidget(statusLabel_);
    message_ = new InlineMessage(this);
    layout->addWidget(message_);

    auto* filterRow = new QHBoxLayout;
    filterRow->addWidget(new QLabel(tr("Filter:"), this));
    filterEdit_ = new QLineEdit(this);
    filterEdit_->setPlaceholderText(tr("file or label contains…"));
    filterEdit_->setClearButtonEnabled(true);
    filterRow->addWidget(filterEdit_, 1);
    filterRow->addWidget(new QLabel(tr("Uncertain below:"), this));
    thresholdSpin_ = new QDoubleSpinBox(this);
    thresholdSpin_->setRange(0.0, 1.0);
    thresholdSpin_->setSingleStep(0.05);
    thresholdSpin_->setDecimals(2);
    thresholdSpin_->setValue(0.5);
    thresholdSpin_->setToolTip(tr("Rows whose confidence is below this are marked uncertain"));
    filterRow->addWidget(thresholdSpin_);
    exportCsvButton_ = new QPushButton(tr("Export CSV…"), this);
    exportJsonButton_ = new QPushButton(tr("Export JSON…"), this);
    exportCsvButton_->setEnabled(false);
    exportJsonButton_->setEnabled(false);
    filterRow->addWidget(exportCsvButton_);
    filterRow->addWidget(exportJsonButton_);
    layout->addLayout(filterRow);

    results_ = new ClassifyResultModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(results_);
    proxy_->setSortRole(Qt::UserRole);
    proxy_->setFilterKeyColumn(-1);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    table_ = new QTableView(this);
    table_->setObjectName(QStringLiteral("classifyResults"));
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(ClassifyResultModel::File, Qt::AscendingOrder);
    table_->setWordWrap(false);
    table_->setTextElideMode(Qt::ElideLeft);  // the file name matters more than its folders
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    // The short columns as wide as what they hold, the file name takes the rest (at 1280 pixels it was left 120
    // and showed '…stronomy-01.txt' beside a 100-pixel 'Truncated' column holding 'no').
    for (int c = 0; c < ClassifyResultModel::ColumnCount; ++c)
        table_->horizontalHeader()->setSectionResizeMode(c, c == ClassifyResultModel::File ? QHeaderView::Stretch
                                                                                            : QHeaderView::ResizeToContents);
    table_->verticalHeader()->hide();
    table_->setToolTip(tr("Double-click a row (or press Enter) to open the document in the explorer"));

    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    scoreLabel_ = new QLabel(tr("No labelled folders in this batch."), side);
    scoreLabel_->setWordWrap(true);
    sideLayout->addWidget(scoreLabel_);
    confusionTable_ = new QTableWidget(side);
    confusionTable_->setToolTip(tr("Confusion matrix: rows are the folder labels, columns the predictions"));
    confusionTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    sideLayout->addWidget(confusionTable_, 1);
    sideLayout->addWidget(new QLabel(tr("Skipped:"), side));
    skippedList_ = new QListWidget(side);
    skippedList_->setObjectName(QStringLiteral("classifySkipped"));
    skippedList_->setWordWrap(true);
    sideLayout->addWidget(skippedList_, 1);

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(table_);
    split->addWidget(side);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);
    split->setSizes({4000, 1000});  // the side panel a fifth: the matrix and the skipped files need little width
    layout->addWidget(split, 1);

    connect(browseModelButton_, &QPushButton::clicked, this, &ClassifyPage::chooseModel);
    connect(addFilesButton_, &QPushButton::clicked, this, &ClassifyPage::chooseFiles);
    connect(addFolderButton_, &QPushButton::clicked, this, &ClassifyPage::chooseFolder);
    connect(cancelButton_, &QPushButton::clicked, this, &ClassifyPage::cancel);
    connect(exportCsvButton_, &QPushButton::clicked, this, [this] { exportWithDialog(false); });
    connect(exportJsonButton_, &QPushButton::clicked, this, [this] { exportWithDialog(true); });
    connect(table_, &QTableView::activated, this,
            [this](const QModelIndex& index) { openRowInExplorer(proxy_->mapToSource(index).row()); });
    connect(filterEdit_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
    connect(thresholdSpin_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        results_->setThreshold(v);
        if (results_->rowCount() > 0)
            statusLabel_->setText(
                tr("%1 documents classified on %5, %2 uncertain (confidence below %3), %4 skipped.")
                    .arg(results_->rowCount())
                    .arg(results_->uncertainCount())
                    .arg(v, 0, 'f', 2)
                    .arg(skipped_.size())
                    .arg(ranOn_));
    });
}

ClassifyPage::~ClassifyPage() {
    if (thread_) {
        job_->cancel = true;
        thread_->wait();
    }
}

void ClassifyPage::setModelPath(const QString& path) {
    modelCombo_->setCurrentText(path);
}
QString ClassifyPage::modelPath() const {
    return modelCombo_->currentText().trimmed();
}
bool ClassifyPage::setDevice(const QString& device) {
    const int i = deviceCombo_->findData(device);
    if (i < 0) return false;
    deviceCombo_->setCurrentIndex(i);
    QSettings().setValue(QLatin1String(kDeviceKey), device);
    return true;
}
QString ClassifyPage::device() const {
    return deviceCombo_->currentData().toString();
}
QStringList ClassifyPage::deviceIds() const {
    QStringList ids;
    for (int i = 0; i < deviceCombo_->count(); ++i) ids << deviceCombo_->itemData(i).toString();
    return ids;
}

void ClassifyPage::openRowInExplorer(int row) {
    if (row < 0 || row >= results_->rowCount()) return;
    const ClassifyRow& r = results_->rows().at(row);
    Q_EMIT openInExplorerRequested(classifierPath_, r.text, r.file);
    Q_EMIT logMessage(tr("Opening %1 in the explorer").arg(r.file));
}

void ClassifyPage::setThreshold(double threshold) {
    thresholdSpin_->setValue(threshold);
}

void ClassifyPage::rememberModel(const QString& path) {
    QSettings s;
    QStringList recent = s.value(QLatin1String(kRecentModelsKey)).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentModels) recent.removeLast();
    s.setValue(QLatin1String(kRecentModelsKey), recent);
    const QSignalBlocker block(modelCombo_);
    modelCombo_->clear();
    modelCombo_->addItems(recent);
    modelCombo_->setCurrentIndex(0);
}

void ClassifyPage::chooseModel() {
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Choose a fine-tuned run or model directory"), modelPath());
    if (!dir.isEmpty()) setModelPath(dir);
}

void ClassifyPage::chooseFiles() {
    const QStringList files =
        QFileDialog::getOpenFileNames(this, tr("Choose documents"), QString(),
                                      tr("Documents (*.txt *.md *.html *.htm *.jsonl);;All files (*)"));
    if (!files.isEmpty()) classifyPaths(files);
}

void ClassifyPage::chooseFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a folder of documents"));
    if (!dir.isEmpty()) classifyPaths({dir});
}

void ClassifyPage::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() && !isBusy()) event->acceptProposedAction();
}

void ClassifyPage::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    if (paths.isEmpty()) {
        message_->showMessage(InlineMessage::Kind::Error,
                              tr("Only local files and folders can be classified."));
        return;
    }
    event->acceptProposedAction();
    classifyPaths(paths);
}

bool ClassifyPage::classifyPaths(const QStringList& paths) {
    if (isBusy()) {
        message_->showMessage(InlineMessage::Kind::Error,
                              tr("A classification is running; cancel it first."));
        return false;
    }
    const QString model = modelPath();
    if (model.isEmpty()) {
        message_->showMessage(InlineMessage::Kind::Error,
                              tr("Choose a fine-tuned model (a run directory or an exported model) first."));
        return false;
    }
    message_->dismiss();
    error_.clear();
    const QString dev = device();
    if (classifierPath_ != model || classifierDevice_ != dev) classifier_.reset();
    classifierPath_ = model;
    classifierDevice_ = dev;
    const std::string deviceStd = dev.toStdString();

    job_ = std::make_shared<Job>();
    auto job = job_;
    auto classifier = classifier_;
    const std::string modelStd = model.toStdString();
    std::vector<std::string> inputs;
    for (const QString& p : paths) inputs.push_back(QDir::cleanPath(p).toStdString());
    QPointer<ClassifyPage> self(this);
    // The worker owns its copies; it reaches the page only through queued calls.
    thread_ = QThread::create([job, classifier, modelStd, deviceStd, inputs, self]() mutable {
        try {
            if (!classifier) classifier = ponet::DocumentClassifier::open(modelStd, deviceStd);
            job->device = QString::fromStdString(classifier->device());
            const auto& labels = classifier->labels();
            for (const auto& l : labels) job->labels << QString::fromStdString(l);
            QMetaObject::invokeMethod(
                self,
                [self, classifier] {
                    if (self) self->classifier_ = classifier;
                },
                Qt::QueuedConnection);
            const ponet::ClassifyInputs in = ponet::gather_classify_inputs(inputs, labels);
            for (const auto& s : in.skipped)
                job->skipped << QStringLiteral("%1 — %2").arg(QString::fromStdString(s.where),
                                                              QString::fromStdString(s.reason));
            const int total = static_cast<int>(in.items.size());
            std::vector<std::string> gold, predicted;
            for (int start = 0; start < total; start += kBatchSize) {
                if (job->cancel) {
                    job->cancelled = true;
                    break;
                }
                const int end = std::min(total, start + kBatchSize);
                std::vector<std::string> texts;
                for (int i = start; i < end; ++i) texts.push_back(in.items[static_cast<size_t>(i)].text);
                const auto preds = classifier->classify(texts);
                for (int i = start; i < end; ++i) {
                    const auto& item = in.items[static_cast<size_t>(i)];
                    const auto& p = preds[static_cast<size_t>(i - start)];
                    ClassifyRow row;
                    row.file = QString::fromStdString(item.path);
                    row.gold = QString::fromStdString(item.gold_label);
                    row.label = QString::fromStdString(p.label);
                    row.confidence = p.confidence;
                    QStringList top;
                    for (const auto& [name, prob] : p.top)
                        top << QStringLiteral("%1 %2").arg(QString::fromStdString(name)).arg(prob, 0, 'f', 3);
                    row.top3 = top.join(QLatin1String("; "));
                    row.tokens = p.tokens;
                    row.truncated = p.truncated;
                    row.text = QString::fromStdString(item.text);
                    job->rows.push_back(row);
                    gold.push_back(item.gold_label);
                    predicted.push_back(p.label);
                }
                QMetaObject::invokeMethod(
                    self,
                    [self, end, total] {
                        if (self) self->onProgress(end, total);
                    },
                    Qt::QueuedConnection);
            }
            job->score = ponet::score_predictions(gold, predicted, labels);
        } catch (const std::exception& e) {
            job->error = QString::fromUtf8(e.what());
        }
    });
    connect(thread_, &QThread::finished, this, &ClassifyPage::onFinished);
    progress_->setRange(0, 0);
    progress_->show();
    statusLabel_->setText(tr("Loading the model and reading the documents…"));
    setBusy(true);
    thread_->start();
    Q_EMIT logMessage(tr("Classifying %1 with %2 on %3").arg(paths.join(QLatin1String(", ")), model, dev));
    return true;
}

void ClassifyPage::cancel() {
    if (job_ && thread_) {
        job_->cancel = true;
        statusLabel_->setText(tr("Cancelling after the batch in progress…"));
    }
}

void ClassifyPage::setBusy(bool busy) {
    cancelButton_->setEnabled(busy);
    addFilesButton_->setEnabled(!busy);
    addFolderButton_->setEnabled(!busy);
    browseModelButton_->setEnabled(!busy);
    modelCombo_->setEnabled(!busy);
    deviceCombo_->setEnabled(!busy);
    exportCsvButton_->setEnabled(!busy && results_->rowCount() > 0);
    exportJsonButton_->setEnabled(!busy && results_->rowCount() > 0);
    Q_EMIT busyChanged(busy);
}

void ClassifyPage::onProgress(int done, int total) {
    progress_->setRange(0, std::max(1, total));
    progress_->setValue(done);
    statusLabel_->setText(tr("Classified %1 of %2 documents…").arg(done).arg(total));
}

void ClassifyPage::onFinished() {
    thread_->deleteLater();
    thread_ = nullptr;
    auto job = std::move(job_);
    results_->setRows(job->rows);
    skipped_ = job->skipped;
    skippedList_->clear();
    skippedList_->addItems(skipped_);
    error_ = job->error;
    ranOn_ = job->device;
    scoredExamples_ = job->score.examples;
    accuracy_ = job->score.accuracy;
    macroF1_ = job->score.macro_f1;
    progress_->setRange(0, 1);
    progress_->setValue(error_.isEmpty() ? 1 : 0);
    progress_->setVisible(error_.isEmpty());  // after a failure the message says it all
    if (!error_.isEmpty()) {
        classifier_.reset();
        message_->showMessage(InlineMessage::Kind::Error, tr("Classification failed: %1").arg(error_));
        statusLabel_->setText(tr("Nothing classified."));
    } else {
        rememberModel(classifierPath_);
        statusLabel_->setText((job->cancelled ? tr("Cancelled: ") : QString()) +
                              tr("%1 documents classified on %5, %2 uncertain (confidence below %3), %4 skipped.")
                                  .arg(results_->rowCount())
                                  .arg(results_->uncertainCount())
                                  .arg(results_->threshold(), 0, 'f', 2)
                                  .arg(skipped_.size())
                                  .arg(ranOn_));
    }
    updateScoreView(job->score.confusion, job->labels);
    setBusy(false);
    Q_EMIT logMessage(statusLabel_->text());
    Q_EMIT classificationFinished();
}

void ClassifyPage::updateScoreView(const std::vector<std::vector<int64_t>>& confusion,
                                   const QStringList& labels) {
    if (scoredExamples_ == 0) {
        scoreLabel_->setText(
            tr("No labelled folders in this batch (name folders after the model's labels to score it)."));
        confusionTable_->clear();
        confusionTable_->setRowCount(0);
        confusionTable_->setColumnCount(0);
        return;
    }
    scoreLabel_->setText(tr("Labelled folders: %1 documents, accuracy %2, macro-F1 %3")
                             .arg(scoredExamples_)
                             .arg(accuracy_, 0, 'f', 4)
                             .arg(macroF1_, 0, 'f', 4));
    const int n = static_cast<int>(confusion.size());
    confusionTable_->setRowCount(n);
    confusionTable_->setColumnCount(n);
    confusionTable_->setVerticalHeaderLabels(labels);
    confusionTable_->setHorizontalHeaderLabels(labels);
    // A few classes share the panel's width; many get columns as wide as their counts, and a scroll bar.
    confusionTable_->horizontalHeader()->setSectionResizeMode(n <= 6 ? QHeaderView::Stretch
                                                                     : QHeaderView::ResizeToContents);
    for (int g = 0; g < n; ++g)
        for (int p = 0; p < n; ++p) {
            auto* item = new QTableWidgetItem(
                QString::number(confusion[static_cast<size_t>(g)][static_cast<size_t>(p)]));
            item->setTextAlignment(Qt::AlignCenter);
            if (g == p) item->setBackground(QColor(214, 240, 214));
            confusionTable_->setItem(g, p, item);
        }
}

bool ClassifyPage::exportCsv(const QString& path, QString* error) const {
    QString out = QStringLiteral("file,folder_label,label,confidence,top3,tokens,truncated,uncertain\n");
    for (int i = 0; i < results_->rows().size(); ++i) {
        const ClassifyRow& r = results_->rows().at(i);
        out += QStringList{csvField(r.file),
                           csvField(r.gold),
                           csvField(r.label),
                           QString::number(r.confidence, 'g', 17),
                           csvField(r.top3),
                           QString::number(r.tokens),
                           r.truncated ? QStringLiteral("yes") : QStringLiteral("no"),
                           results_->isUncertain(i) ? QStringLiteral("yes") : QStringLiteral("no")}
                   .join(QLatin1Char(','));
        out += QLatin1Char('\n');
    }
    return writeAtomically(path, out.toUtf8(), error);
}

bool ClassifyPage::exportJson(const QString& path, QString* error) const {
    QJsonArray rows;
    for (int i = 0; i < results_->rows().size(); ++i) {
        const ClassifyRow& r = results_->rows().at(i);
        QJsonObject o{{QStringLiteral("file"), r.file},
                      {QStringLiteral("folder_label"), r.gold},
                      {QStringLiteral("label"), r.label},
                      {QStringLiteral("confidence"), r.confidence},
                      {QStringLiteral("top3"), r.top3},
                      {QStringLiteral("tokens"), r.tokens},
                      {QStringLiteral("truncated"), r.truncated},
                      {QStringLiteral("uncertain"), results_->isUncertain(i)}};
        rows.append(o);
    }
    QJsonObject root{{QStringLiteral("model"), classifierPath_},
                     {QStringLiteral("threshold"), results_->threshold()},
                     {QStringLiteral("documents"), rows},
                     {QStringLiteral("skipped"), QJsonArray::fromStringList(skipped_)}};
    if (scoredExamples_ > 0)
        root.insert(QStringLiteral("score"), QJsonObject{{QStringLiteral("examples"), scoredExamples_},
                                                         {QStringLiteral("accuracy"), accuracy_},
                                                         {QStringLiteral("macro_f1"), macroF1_}});
    return writeAtomically(path, QJsonDocument(root).toJson(), error);
}

void ClassifyPage::exportWithDialog(bool json) {
    QSettings s;
    const QString dir = s.value(QLatin1String(kExportDirKey), QDir::homePath()).toString();
    const QString path =
        QFileDialog::getSaveFileName(this, json ? tr("Export results as JSON") : tr("Export results as CSV"),
                                     QDir(dir).filePath(json ? QStringLiteral("classification.json")
                                                             : QStringLiteral("classification.csv")),
                                     json ? tr("JSON (*.json)") : tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    s.setValue(QLatin1String(kExportDirKey), QFileInfo(path).absolutePath());
    QString error;
    if (!(json ? exportJson(path, &error) : exportCsv(path, &error)))
        message_->showMessage(InlineMessage::Kind::Error, error);
    else
        message_->showMessage(InlineMessage::Kind::Information, tr("Wrote %1").arg(path));
}

}  // namespace ponet::gui
