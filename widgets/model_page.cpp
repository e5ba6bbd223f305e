#include "widgets/model_page.h"

#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMimeData>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QStyledItemDelegate>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

#include "core/util/error.h"
#include "widgets/cost_preview.h"
#include "widgets/inline_message.h"
#include "widgets/model_summary_worker.h"
#include "widgets/number_format.h"
#include "widgets/tokenizer_panel.h"

namespace ponet::gui {
namespace {

const char kDefaultModel[] = "ponet-base-uncased";

// Field rows of the configuration form, in display order.
enum ConfigRow {
    RowArchitecture,
    RowMixer,
    RowVariant,
    RowHidden,
    RowLayers,
    RowHeads,
    RowFfn,
    RowVocab,
    RowPositions,
    RowTokenTypes,
    RowClsgsepg,
    RowSegments,
    RowSpecialTokens,
    RowLabels,
    RowDropout,
    RowCount
};

QString mixerText(ponet::MixerKind kind) {
    switch (kind) {
        case ponet::MixerKind::PoNet:
            return ModelPage::tr("PoNet (global aggregation, segment and local max-pooling)");
        case ponet::MixerKind::FNet:
            return ModelPage::tr("FNet (Fourier transform)");
        case ponet::MixerKind::Attention:
            return ModelPage::tr("Self-attention");
    }
    return QString::fromStdString(ponet::to_string(kind));
}

QString variantText(ponet::ModelVariant variant) {
    switch (variant) {
        case ponet::ModelVariant::Bert:
            return ModelPage::tr("BERT (post-LayerNorm)");
        case ponet::ModelVariant::Lra:
            return ModelPage::tr("LRA (pre-LayerNorm, mean pooling)");
    }
    return QString::fromStdString(ponet::to_string(variant));
}

QString segmentText(const ponet::ModelConfig& c) {
    switch (c.segment_strategy) {
        case ponet::SegmentStrategy::Derived:
            return ModelPage::tr("Derived from [CLS] and [SEP]");
        case ponet::SegmentStrategy::Fixed:
            return ModelPage::tr("Fixed: %1 segments per sequence").arg(c.segment_num);
    }
    return QString::fromStdString(ponet::to_string(c.segment_strategy));
}

QString labelsText(const ponet::ModelConfig& c) {
    constexpr int kShown = 8;
    QStringList names;
    for (int i = 0; i < std::min<int>(kShown, static_cast<int>(c.id2label.size())); ++i) {
        names << QString::fromStdString(c.id2label[static_cast<size_t>(i)]);
    }
    if (c.num_labels() > kShown) names << QStringLiteral("…");
    const QString problem =
        QString::fromStdString(c.problem_type).replace(QLatin1Char('_'), QLatin1Char(' '));
    return ModelPage::tr("%1 — %2 (%3)").arg(c.num_labels()).arg(names.join(QStringLiteral(", ")), problem);
}

QLabel* valueLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setTextFormat(Qt::PlainText);
    label->setWordWrap(true);
    return label;
}

// Paints each group's share of the parameters as a bar behind the percentage, so the split reads at a glance.
class ShareBarDelegate : public QStyledItemDelegate {
  public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override {
        const double share = std::clamp(index.data(Qt::UserRole).toDouble(), 0.0, 1.0);
        const QRectF track = QRectF(option.rect).adjusted(3, 4, -3, -4);
        QColor bar = option.palette.color(QPalette::Highlight);
        bar.setAlpha(70);
        painter->save();
        painter->setPen(Qt::NoPen);
        painter->setBrush(bar);
        painter->drawRoundedRect(QRectF(track.topLeft(), QSizeF(track.width() * share, track.height())), 2,
                                 2);
        painter->restore();
        QStyledItemDelegate::paint(painter, option, index);
    }
};

QTableWidgetItem* numberItem(const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

}  // namespace

ModelPage::ModelPage(QWidget* parent) : QWidget(parent), worker_(std::make_unique<ModelSummaryWorker>()) {
    registerCoreMetaTypes();
    setAcceptDrops(true);

    // Top bar: which model, and for which sequence length the activation estimate is made.
    modelCombo_ = new QComboBox(this);
    modelCombo_->setObjectName(QStringLiteral("modelCombo"));
    modelCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    modelCombo_->setMinimumContentsLength(22);
    modelCombo_->setToolTip(tr("Built-in model shapes, and the model directories opened in this session"));
    auto* modelLabel = new QLabel(tr("&Model:"), this);
    modelLabel->setBuddy(modelCombo_);
    for (const BuiltinModel& model : builtinModels()) modelCombo_->addItem(model.name, model.directory);
    builtinCount_ = modelCombo_->count();
    connect(modelCombo_, &QComboBox::activated, this, &ModelPage::onComboActivated);

    openButton_ = new QPushButton(tr("&Open Model Directory…"), this);
    openButton_->setObjectName(QStringLiteral("openModelButton"));
    openButton_->setToolTip(
        tr("Open a directory holding a config.json (and optionally model.safetensors). "
           "You can also drop one onto this page."));
    connect(openButton_, &QPushButton::clicked, this, &ModelPage::chooseModelDirectory);

    seqLenSpin_ = new QSpinBox(this);
    seqLenSpin_->setObjectName(QStringLiteral("sequenceLengthSpin"));
    seqLenSpin_->setRange(1, 1 << 20);
    seqLenSpin_->setValue(requestedSeqLen_);
    seqLenSpin_->setSuffix(tr(" tokens"));
    seqLenSpin_->setKeyboardTracking(false);  // one estimate per finished entry, not one per keystroke
    seqLenSpin_->setToolTip(
        tr("Sequence length for the activation-memory estimate (at most the model's "
           "maximum positions)"));
    auto* seqLenLabel = new QLabel(tr("&Sequence length:"), this);
    seqLenLabel->setBuddy(seqLenSpin_);
    connect(seqLenSpin_, &QSpinBox::valueChanged, this, &ModelPage::onSequenceLengthChanged);

    auto* topBar = new QHBoxLayout;
    topBar->addWidget(modelLabel);
    topBar->addWidget(modelCombo_);
    topBar->addWidget(openButton_);
    topBar->addStretch(1);
    topBar->addWidget(seqLenLabel);
    topBar->addWidget(seqLenSpin_);

    message_ = new InlineMessage(this);
    message_->setObjectName(QStringLiteral("modelMessage"));

    titleLabel_ = new QLabel(this);
    titleLabel_->setObjectName(QStringLiteral("modelTitle"));
    QFont titleFont = titleLabel_->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.3);
    titleFont.setBold(true);
    titleLabel_->setFont(titleFont);
    titleLabel_->setTextFormat(Qt::PlainText);
    sourceLabel_ = valueLabel(this);
    sourceLabel_->setObjectName(QStringLiteral("modelSource"));
    sourceLabel_->setForegroundRole(QPalette::PlaceholderText);

    // Overview: configuration on the left, parameters and memory on the right.
    auto* overview = new QWidget(this);
    auto* right = new QVBoxLayout;
    right->addWidget(buildParametersBox());
    right->addWidget(buildMemoryBox());
    right->addWidget(buildTokenizerBox());
    right->addStretch(1);
    auto* columns = new QHBoxLayout;
    columns->addWidget(buildConfigurationBox(), 5);
    columns->addLayout(right, 6);
    auto* overviewLayout = new QVBoxLayout(overview);
    overviewLayout->addLayout(columns);
    overviewLayout->addWidget(buildCostBox());

    jsonView_ = new QPlainTextEdit(this);
    jsonView_->setObjectName(QStringLiteral("configJsonView"));
    jsonView_->setReadOnly(true);
    jsonView_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    jsonView_->setLineWrapMode(QPlainTextEdit::NoWrap);

    // Scrolls rather than forcing a tall minimum window height on small or scaled screens.
    auto* overviewScroll = new QScrollArea(this);
    overviewScroll->setWidget(overview);
    overviewScroll->setWidgetResizable(true);
    overviewScroll->setFrameShape(QFrame::NoFrame);
    overviewScroll_ = overviewScroll;

    auto* tabs = new QTabWidget(this);
    tabs->setObjectName(QStringLiteral("modelTabs"));
    tabs->addTab(overviewScroll, tr("Overview"));
    tabs->addTab(jsonView_, tr("config.json"));

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(topBar);
    layout->addWidget(message_);
    layout->addWidget(titleLabel_);
    layout->addWidget(sourceLabel_);
    layout->addWidget(tabs, 1);

    if (builtinCount_ == 0) {
        const QString dir = builtinModelsDirectory();
        message_->showMessage(InlineMessage::Kind::Information,
                              dir.isEmpty()
                                  ? tr("No built-in model shapes were found: the resources directory "
                                       "is missing (set PONET_RESOURCES_DIR). Open a model directory "
                                       "instead.")
                                  : tr("No built-in model shapes were found in “%1”. Open a model "
                                       "directory instead.")
                                        .arg(QDir::toNativeSeparators(dir)));
    }

    worker_->moveToThread(&summaryThread_);
    connect(this, &ModelPage::summaryRequested, worker_.get(), &ModelSummaryWorker::summarize);
    connect(worker_.get(), &ModelSummaryWorker::summarized, this, &ModelPage::onSummarized);
    connect(worker_.get(), &ModelSummaryWorker::failed, this, &ModelPage::onSummaryFailed);
    summaryThread_.setObjectName(QStringLiteral("ponet-model-summary"));
    summaryThread_.start();
}

ModelPage::~ModelPage() {
    // A summary in progress finishes on its own (it has no cancel); wait for it so the worker dies idle.
    summaryThread_.quit();
    summaryThread_.wait();
}

QWidget* ModelPage::buildConfigurationBox() {
    auto* box = new QGroupBox(tr("Configuration"), this);
    configurationBox_ = box;
    configForm_ = new QFormLayout(box);
    configForm_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    configForm_->setRowWrapPolicy(QFormLayout::DontWrapRows);
    const QString captions[RowCount] = {tr("Architecture:"),
                                        tr("Token mixer:"),
                                        tr("Skeleton:"),
                                        tr("Hidden size:"),
                                        tr("Layers:"),
                                        tr("Heads:"),
                                        tr("Feed-forward:"),
                                        tr("Vocabulary:"),
                                        tr("Max positions:"),
                                        tr("Token types:"),
                                        tr("[CLS]/[SEP] global pooling:"),
                                        tr("SMP segments:"),
                                        tr("Special tokens:"),
                                        tr("Labels:"),
                                        tr("Dropout:")};
    for (int row = 0; row < RowCount; ++row) {
        auto* value = valueLabel(box);
        value->setObjectName(QStringLiteral("configValue%1").arg(row));
        configForm_->addRow(captions[row], value);
    }
    return box;
}

QWidget* ModelPage::buildParametersBox() {
    auto* box = new QGroupBox(tr("Parameters"), this);
    groupTable_ = new QTableWidget(0, 3, box);
    groupTable_->setObjectName(QStringLiteral("parameterGroupTable"));
    groupTable_->setHorizontalHeaderLabels({tr("Group"), tr("Parameters"), tr("Share")});
    groupTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    groupTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
    groupTable_->setAlternatingRowColors(true);
    groupTable_->verticalHeader()->hide();
    groupTable_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    groupTable_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    groupTable_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Fixed);
    groupTable_->horizontalHeader()->resizeSection(
        2, groupTable_->fontMetrics().horizontalAdvance(QStringLiteral("100.0 %")) * 2);
    groupTable_->setItemDelegateForColumn(2, new ShareBarDelegate(groupTable_));
    groupTable_->setWordWrap(false);
    groupTable_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    groupTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    totalLabel_ = valueLabel(box);
    totalLabel_->setObjectName(QStringLiteral("totalParameters"));
    totalLabel_->setWordWrap(false);  // one short line; wrapping labels claim spare height and float mid-box
    QFont bold = totalLabel_->font();
    bold.setBold(true);
    totalLabel_->setFont(bold);

    auto* layout = new QVBoxLayout(box);
    layout->addWidget(groupTable_);
    layout->addWidget(totalLabel_);
    return box;
}

QWidget* ModelPage::buildMemoryBox() {
    auto* box = new QGroupBox(tr("Memory (float32)"), this);
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    weightsLabel_ = valueLabel(box);
    weightsLabel_->setObjectName(QStringLiteral("weightsBytes"));
    trainingStateLabel_ = valueLabel(box);
    trainingStateLabel_->setObjectName(QStringLiteral("trainingStateBytes"));
    activationLabel_ = valueLabel(box);
    activationLabel_->setObjectName(QStringLiteral("activationBytes"));
    activationCaption_ = new QLabel(tr("Activations per sequence:"), box);
    form->addRow(tr("Weights:"), weightsLabel_);
    auto* trainingCaption = new QLabel(tr("Training state:"), box);
    trainingCaption->setToolTip(tr("Weights, gradients and the two AdamW moment buffers"));
    trainingStateLabel_->setToolTip(trainingCaption->toolTip());
    form->addRow(trainingCaption, trainingStateLabel_);
    activationLabel_->setToolTip(
        tr("Tensors one training step keeps for the backward pass, without activation "
           "checkpointing; multiply by the batch size"));
    form->addRow(activationCaption_, activationLabel_);
    auto* note =
        new QLabel(tr("Training state counts the weights, their gradients and the two AdamW moments. "
                      "Activations are what one training step keeps for the backward pass, without "
                      "checkpointing; multiply by the batch size."),
                   box);
    note->setWordWrap(true);
    note->setForegroundRole(QPalette::PlaceholderText);
    form->addRow(note);
    return box;
}

QWidget* ModelPage::buildCostBox() {
    auto* box = new QGroupBox(tr("Cost Preview (training steps: measured, or estimated from a measured shape)"), this);
    box->setObjectName(QStringLiteral("costPreviewBox"));
    costPreview_ = new CostPreview(box);
    costPreview_->setObjectName(QStringLiteral("costPreview"));
    costPreview_->setMinimumHeight(300);
    connect(costPreview_, &CostPreview::logMessage, this, &ModelPage::logMessage);
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(costPreview_);
    return box;
}

QWidget* ModelPage::buildTokenizerBox() {
    auto* box = new QGroupBox(tr("Tokenizer"), this);
    box->setObjectName(QStringLiteral("tokenizerBox"));
    tokenizerPanel_ = new TokenizerPanel(box);
    tokenizerPanel_->setObjectName(QStringLiteral("tokenizerPanel"));
    connect(tokenizerPanel_, &TokenizerPanel::logMessage, this, &ModelPage::logMessage);
    connect(tokenizerPanel_, &TokenizerPanel::tokenizerChosen, this, &ModelPage::tokenizerChosen);
    connect(tokenizerPanel_, &TokenizerPanel::busyChanged, this, [this](bool) { Q_EMIT busyChanged(isBusy()); });
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(tokenizerPanel_);
    return box;
}

void ModelPage::setDevices(const QStringList& devices) {
    costPreview_->setDevices(devices);
}

void ModelPage::setDevice(const QString& device) {
    costPreview_->setDevice(device);
}

bool ModelPage::openModelDirectory(const QString& path) {
    message_->dismiss();
    return load(path);
}

void ModelPage::showDefaultModel() {
    if (builtinCount_ == 0) return;
    int index = modelCombo_->findText(QString::fromLatin1(kDefaultModel));
    if (index < 0 || index >= builtinCount_) index = 0;
    modelCombo_->setCurrentIndex(index);
    load(modelCombo_->itemData(index).toString());
}

void ModelPage::chooseModelDirectory() {
    const QString start = shown_ ? QFileInfo(shown_->directory).absolutePath() : QDir::homePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Model Directory"), start);
    if (!dir.isEmpty()) openModelDirectory(dir);
}

bool ModelPage::load(const QString& path) {
    try {
        request(readModelSource(path));
        return true;
    } catch (const ponet::Error& e) {
        showError(tr("Cannot open the model: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

void ModelPage::request(const ModelSource& source) {
    Request r;
    r.id = nextRequestId_++;
    r.source = source;
    const qint64 maxPositions = std::max<qint64>(1, source.config.max_position_embeddings);
    r.seqLen = std::min<qint64>(requestedSeqLen_, maxPositions);
    dispatch(std::move(r));
}

void ModelPage::dispatch(Request request) {
    if (inFlight_) {
        queued_ = std::move(request);
        return;
    }
    inFlight_ = std::move(request);
    Q_EMIT summaryRequested(inFlight_->id, inFlight_->source.config, inFlight_->seqLen);
    setBusy(true);
}

const ModelSource* ModelPage::latestSource() const {
    if (queued_) return &queued_->source;
    if (inFlight_) return &inFlight_->source;
    if (shown_) return &*shown_;
    return nullptr;
}

void ModelPage::onSummarized(quint64 requestId, const ponet::ModelSummary& summary) {
    if (!inFlight_ || inFlight_->id != requestId) return;
    const Request done = std::move(*inFlight_);
    inFlight_.reset();
    // Results arrive in request order; an older one still beats what is on display.
    if (done.id > shownRequestId_) {
        shownRequestId_ = done.id;
        display(done.source, summary);
    }
    finishRequest();
}

void ModelPage::onSummaryFailed(quint64 requestId, const QString& message) {
    if (!inFlight_ || inFlight_->id != requestId) return;
    const Request done = std::move(*inFlight_);
    inFlight_.reset();
    showError(tr("Cannot summarise “%1”: %2").arg(done.source.name, message));
    finishRequest();
}

void ModelPage::finishRequest() {
    if (queued_) {
        Request next = std::move(*queued_);
        queued_.reset();
        dispatch(std::move(next));
        return;
    }
    // The combo may show a choice that failed; put it back on what the page actually shows.
    if (shown_) selectComboEntry(shown_->directory);
    setBusy(false);
}

void ModelPage::setBusy(bool busy) {
    if (busy == busy_) return;
    busy_ = busy;
    Q_EMIT busyChanged(busy);
}

void ModelPage::display(const ModelSource& source, const ponet::ModelSummary& summary) {
    const bool newModel =
        !shown_ || shown_->directory != source.directory || shown_->configText != source.configText;
    shown_ = source;
    shownSummary_ = summary;
    const ponet::ModelConfig& c = source.config;

    titleLabel_->setText(source.name);
    const QString weights =
        source.weightsBytes >= 0
            ? tr("weights in model.safetensors (%1)").arg(formatBytes(source.weightsBytes))
            : tr("shape only, no weights file");
    sourceLabel_->setText(QStringLiteral("%1 — %2").arg(QDir::toNativeSeparators(source.directory), weights));

    auto set = [this](int row, const QString& text) {
        static_cast<QLabel*>(configForm_->itemAt(row, QFormLayout::FieldRole)->widget())->setText(text);
    };
    set(RowArchitecture,
        QString::fromStdString(summary.architecture.empty() ? c.architecture() : summary.architecture));
    set(RowMixer, mixerText(c.mixer));
    set(RowVariant, variantText(c.variant));
    set(RowHidden, formatCount(c.hidden_size));
    set(RowLayers, formatCount(c.num_hidden_layers));
    set(RowHeads, tr("%1 (head size %2)").arg(formatCount(c.num_attention_heads), formatCount(c.head_dim())));
    set(RowFfn, tr("%1 (%2)").arg(formatCount(c.intermediate_size), QString::fromStdString(c.hidden_act)));
    set(RowVocab, formatCount(c.vocab_size));
    set(RowPositions, c.trained_length > 0 ? tr("%1 (trained at %2 tokens)")
                                                 .arg(formatCount(c.max_position_embeddings),
                                                      formatCount(c.trained_length))
                                           : formatCount(c.max_position_embeddings));
    set(RowTokenTypes, formatCount(c.type_vocab_size));
    set(RowClsgsepg, c.clsgsepg ? tr("Yes (clsgsepg)") : tr("No"));
    set(RowSegments, segmentText(c));
    // The LRA skeleton has no special tokens (PONET-SPEC §4.2.2): id 0 is padding, the other ids are symbols.
    set(RowSpecialTokens, c.variant == ponet::ModelVariant::Lra
                              ? tr("none (id %1 is padding)").arg(c.pad_token_id)
                              : tr("[PAD] %1 · [UNK] %2 · [CLS] %3 · [SEP] %4 · [MASK] %5")
                                    .arg(c.pad_token_id)
                                    .arg(c.unk_token_id)
                                    .arg(c.cls_token_id)
                                    .arg(c.sep_token_id)
                                    .arg(c.mask_token_id));
    set(RowLabels, labelsText(c));
    set(RowDropout,
        tr("hidden %1, attention %2").arg(c.hidden_dropout_prob).arg(c.attention_probs_dropout_prob));

    groupTable_->setRowCount(static_cast<int>(summary.groups.size()));
    const double total = static_cast<double>(std::max<int64_t>(1, summary.total_parameters));
    for (int row = 0; row < groupTable_->rowCount(); ++row) {
        const ponet::ParameterGroup& g = summary.groups[static_cast<size_t>(row)];
        groupTable_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(g.name)));
        groupTable_->setItem(row, 1, numberItem(formatCount(g.count)));
        const double share = static_cast<double>(g.count) / total;
        QTableWidgetItem* shareItem =
            numberItem(QLocale().toString(100.0 * share, 'f', 1) + QStringLiteral(" %"));
        shareItem->setData(Qt::UserRole, share);
        groupTable_->setItem(row, 2, shareItem);
    }
    // As tall as its rows: a handful of groups, and no empty white block under them.
    int tableHeight = groupTable_->horizontalHeader()->sizeHint().height() + 2 * groupTable_->frameWidth();
    for (int row = 0; row < groupTable_->rowCount(); ++row) tableHeight += groupTable_->rowHeight(row);
    groupTable_->setFixedHeight(tableHeight);
    totalLabel_->setText(
        tr("Total: %1 parameters (%2)")
            .arg(formatCount(summary.total_parameters), formatCompactCount(summary.total_parameters)));

    weightsLabel_->setText(formatBytes(summary.weights_bytes_fp32));
    trainingStateLabel_->setText(formatBytes(summary.training_state_bytes));
    activationCaption_->setText(tr("Activations per %1-token sequence:").arg(formatCount(summary.seq_len)));
    activationLabel_->setText(formatBytes(summary.activation_bytes_per_sequence));

    {
        const QSignalBlocker blocker(seqLenSpin_);
        seqLenSpin_->setRange(1, static_cast<int>(std::max<int64_t>(1, c.max_position_embeddings)));
        seqLenSpin_->setValue(static_cast<int>(summary.seq_len));
    }

    if (newModel) {
        costPreview_->setModel(c, source.name);
        jsonView_->setPlainText(source.configText);
        if (modelCombo_->findData(source.directory) < 0) {
            if (modelCombo_->count() == builtinCount_ && builtinCount_ > 0)
                modelCombo_->insertSeparator(builtinCount_);
            modelCombo_->addItem(source.name, source.directory);
            modelCombo_->setItemData(modelCombo_->count() - 1, QDir::toNativeSeparators(source.directory),
                                     Qt::ToolTipRole);
        }
        Q_EMIT logMessage(tr("Model %1: %2 parameters, %3 of weights (%4)")
                              .arg(source.name, formatCount(summary.total_parameters),
                                   formatBytes(summary.weights_bytes_fp32),
                                   QDir::toNativeSeparators(source.directory)));
    }
    selectComboEntry(source.directory);
    Q_EMIT modelShown(source.name, source.directory);
}

void ModelPage::showError(const QString& message) {
    message_->showMessage(InlineMessage::Kind::Error, message);
    if (shown_) selectComboEntry(shown_->directory);
    Q_EMIT logMessage(message);
    Q_EMIT loadFailed(message);
}

void ModelPage::selectComboEntry(const QString& directory) {
    const int index = modelCombo_->findData(directory);
    if (index >= 0) modelCombo_->setCurrentIndex(index);
}

void ModelPage::onComboActivated(int index) {
    const QString dir = modelCombo_->itemData(index).toString();
    if (!dir.isEmpty() && (!shown_ || dir != shown_->directory || busy_)) openModelDirectory(dir);
}

void ModelPage::onSequenceLengthChanged(int value) {
    requestedSeqLen_ = value;
    if (const ModelSource* source = latestSource()) request(*source);
}

void ModelPage::setRequestedSequenceLength(int length) {
    // Kept even when the current model caps it, so a model with more positions later gets the length asked
    // for.
    requestedSeqLen_ = std::max(1, length);
    {
        const QSignalBlocker blocker(seqLenSpin_);
        seqLenSpin_->setValue(std::clamp(requestedSeqLen_, seqLenSpin_->minimum(), seqLenSpin_->maximum()));
    }
    if (const ModelSource* source = latestSource()) request(*source);
}

QString ModelPage::currentModelName() const {
    return shown_ ? shown_->name : QString();
}
QString ModelPage::currentModelDirectory() const {
    return shown_ ? shown_->directory : QString();
}
std::optional<ponet::ModelSummary> ModelPage::currentSummary() const {
    return shownSummary_;
}
bool ModelPage::showSection(const QString& name) {
    QWidget* target = name == QLatin1String("configuration") ? configurationBox_
                      : name == QLatin1String("tokenizer")   ? tokenizerPanel_->parentWidget()
                      : name == QLatin1String("cost")        ? costPreview_->parentWidget()
                                                             : nullptr;
    if (!target) return false;
    if (auto* tabs = findChild<QTabWidget*>(QStringLiteral("modelTabs"))) tabs->setCurrentIndex(0);
    if (QLayout* l = overviewScroll_->widget()->layout()) l->activate();
    overviewScroll_->ensureWidgetVisible(target, 0, 0);
    // ensureWidgetVisible brings the box's bottom into view when it is taller than the room; start at its top.
    overviewScroll_->verticalScrollBar()->setValue(
        std::min(overviewScroll_->verticalScrollBar()->maximum(), target->mapTo(overviewScroll_->widget(), QPoint(0, 0)).y()));
    return true;
}

bool ModelPage::isBusy() const {
    return busy_ || (tokenizerPanel_ && tokenizerPanel_->isTraining());
}

QString ModelPage::errorText() const {
    return message_->kind() == InlineMessage::Kind::Error ? message_->text() : QString();
}

void ModelPage::dragEnterEvent(QDragEnterEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.front().isLocalFile() && looksLikeModelSource(urls.front().toLocalFile())) {
        event->acceptProposedAction();
    }
}

void ModelPage::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() != 1 || !urls.front().isLocalFile()) return;
    event->acceptProposedAction();
    openModelDirectory(urls.front().toLocalFile());
}

}  // namespace ponet::gui
