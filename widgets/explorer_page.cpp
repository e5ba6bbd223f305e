#include "widgets/explorer_page.h"

#include <QApplication>
#include <QButtonGroup>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPdfWriter>
#include <QPainter>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTextBrowser>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#ifdef PONET_HAVE_QTSVG
#include <QSvgGenerator>
#endif

#include <cmath>

#include "core/data/importers.h"
#include "core/inspect/teach.h"
#include "widgets/model_source.h"
#include "widgets/qcp.h"
#include "widgets/token_track_view.h"

namespace ponet::gui {
namespace {

const char kMainTag[] = "main";
const char kCompareTag[] = "compare";
const char kScrubTag[] = "scrub";
const char kModelKey[] = "explorer/model";

QString tokenText(const ponet::Inspection& r, qint64 t) {
    return QString::fromStdString(r.tokens[static_cast<size_t>(t)]);
}

bool isRunDirectory(const QString& path) {
    return QFileInfo(path + QStringLiteral("/checkpoints")).isDir();
}

// A legend line: coloured squares and their names.
QLabel* legend(const QList<QPair<QColor, QString>>& items, QWidget* parent) {
    QString html;
    for (const auto& [c, name] : items)
        html += QStringLiteral("<span style='background:%1'>&nbsp;&nbsp;&nbsp;&nbsp;</span>&nbsp;%2&nbsp;&nbsp;&nbsp;")
                    .arg(c.name(), name.toHtmlEscaped());
    auto* l = new QLabel(html, parent);
    l->setTextFormat(Qt::RichText);
    return l;
}

QString cellColour(double v, double scale) {
    return explorer_colors::heat(std::min(1.0, std::abs(v) / scale) * 0.75).name();
}

}  // namespace

ExplorerPage::ExplorerPage(QWidget* parent) : QWidget(parent) {
    registerInspectionMetaTypes();
    setAcceptDrops(true);
    viewport_ = new TokenViewport(this);
    compareViewportB_ = new TokenViewport(this);

    thread_ = new QThread(this);
    thread_->setObjectName(QStringLiteral("explorer-inspection"));
    worker_ = new InspectionWorker;
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &InspectionWorker::progress, this, &ExplorerPage::onProgress);
    connect(worker_, &InspectionWorker::finished, this, &ExplorerPage::onFinished);
    connect(worker_, &InspectionWorker::failed, this, &ExplorerPage::onFailed);
    connect(worker_, &InspectionWorker::cancelled, this, [this](quint64 id) {
        const InspectionRequest req = pending_.take(id);
        running_ = false;
        status_->setText(tr("Cancelled."));
        Q_EMIT logMessage(tr("Explorer: inspection of %1 cancelled").arg(req.documentName));
        submit({});
    });
    thread_->start();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(buildInputBar());
    layout->addWidget(buildNavigationBar());
    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("explorerTabs"));
    tabs_->addTab(buildGaTab(), tr("GA weights"));
    tabs_->addTab(buildSmpTab(), tr("SMP winners"));
    tabs_->addTab(buildLmpTab(), tr("LMP winners"));
    tabs_->addTab(buildSharesTab(), tr("Branch shares"));
    tabs_->addTab(buildCompareTab(), tr("Compare"));
    tabs_->addTab(buildTeachTab(), tr("Teach mode"));
    tabs_->setTabToolTip(0, tr("Global aggregation: how much each token weighs in the document summary g′"));
    tabs_->setTabToolTip(1, tr("Segment max-pooling: which tokens supply their sentence's maximum, per feature"));
    tabs_->setTabToolTip(2, tr("Local max-pooling: whether each token's window max came from the left, itself or the right"));
    tabs_->setTabToolTip(3, tr("How much of each token's fused output comes from the global, segment and local parts"));
    tabs_->setTabToolTip(4, tr("Two checkpoints, two models or two documents side by side"));
    tabs_->setTabToolTip(5, tr("One PoNet layer on twelve toy tokens, every intermediate as numbers"));
    layout->addWidget(tabs_, 1);
    details_ = new QLabel(this);
    details_->setObjectName(QStringLiteral("explorerDetails"));
    details_->setTextFormat(Qt::RichText);
    details_->setWordWrap(true);
    details_->setMinimumHeight(40);
    details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(details_);

    connect(viewport_, &TokenViewport::selectionChanged, this, [this](qint64 t) {
        if (t >= 0 && gotoSpin_->value() != t) {
            const QSignalBlocker block(gotoSpin_);
            gotoSpin_->setValue(static_cast<int>(t));
        }
        refreshDetails();
    });
    connect(viewport_, &TokenViewport::changed, this, &ExplorerPage::refreshHeatmapRange);
    // Side B follows A's zoom and pan when it shows the same document length (checkpoints, models).
    connect(viewport_, &TokenViewport::changed, this, [this] {
        if (compareViewportB_->length() == viewport_->length()) {
            compareViewportB_->setWidth(viewport_->width());
            compareViewportB_->setView(viewport_->first(), viewport_->pixelsPerToken());
        }
    });
    connect(viewport_, &TokenViewport::selectionChanged, compareViewportB_, [this](qint64 t) {
        if (compareViewportB_->length() == viewport_->length()) compareViewportB_->setSelected(t);
    });

    const QString last = QSettings().value(kModelKey).toString();
    if (!last.isEmpty()) setModelPath(last);
    updateTeach();
    refreshDetails();
}

ExplorerPage::~ExplorerPage() {
    worker_->requestCancel();
    thread_->quit();
    thread_->wait();
}

QStringList ExplorerPage::viewIds() {
    return {QStringLiteral("ga"), QStringLiteral("smp"), QStringLiteral("lmp"), QStringLiteral("shares"),
            QStringLiteral("compare"), QStringLiteral("teach")};
}

void ExplorerPage::showView(const QString& id) {
    const int i = static_cast<int>(viewIds().indexOf(id));
    if (i >= 0) tabs_->setCurrentIndex(i);
}

QString ExplorerPage::currentView() const {
    return viewIds().value(tabs_->currentIndex());
}

// ---------------------------------------------------------------------------------------------------------------
// Building the page

QWidget* ExplorerPage::buildInputBar() {
    auto* bar = new QWidget(this);
    auto* grid = new QGridLayout(bar);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(3);

    grid->addWidget(new QLabel(tr("Model:"), bar), 0, 0);
    modelEdit_ = new QLineEdit(bar);
    modelEdit_->setObjectName(QStringLiteral("explorerModel"));
    modelEdit_->setPlaceholderText(tr("A run directory, one of its checkpoints, or a model directory with vocab.txt"));
    connect(modelEdit_, &QLineEdit::editingFinished, this, &ExplorerPage::refreshCheckpoints);
    grid->addWidget(modelEdit_, 0, 1, 1, 3);
    auto* browse = new QPushButton(tr("Choose…"), bar);
    connect(browse, &QPushButton::clicked, this, &ExplorerPage::chooseModel);
    grid->addWidget(browse, 0, 4);
    checkpointCombo_ = new QComboBox(bar);
    checkpointCombo_->setObjectName(QStringLiteral("explorerCheckpoint"));
    checkpointCombo_->setToolTip(tr("Which of the run's checkpoints to inspect"));
    checkpointCombo_->setMinimumContentsLength(10);
    grid->addWidget(checkpointCombo_, 0, 5);

    grid->addWidget(new QLabel(tr("Document:"), bar), 1, 0);
    documentLabel_ = new QLabel(tr("none — open, paste or drop a text file"), bar);
    documentLabel_->setObjectName(QStringLiteral("explorerDocument"));
    grid->addWidget(documentLabel_, 1, 1);
    auto* open = new QPushButton(tr("Open…"), bar);
    open->setToolTip(tr("A text file, or a dataset file (JSONL, CSV, TSV) to pick a document from"));
    connect(open, &QPushButton::clicked, this, &ExplorerPage::chooseDocument);
    grid->addWidget(open, 1, 2);
    auto* paste = new QPushButton(tr("Paste…"), bar);
    connect(paste, &QPushButton::clicked, this, &ExplorerPage::pasteDocument);
    grid->addWidget(paste, 1, 3);

    auto* actions = new QHBoxLayout;
    inspectButton_ = new QPushButton(tr("Inspect"), bar);
    inspectButton_->setObjectName(QStringLiteral("explorerInspect"));
    inspectButton_->setDefault(true);
    connect(inspectButton_, &QPushButton::clicked, this, &ExplorerPage::inspect);
    cancelButton_ = new QPushButton(tr("Cancel"), bar);
    cancelButton_->setEnabled(false);
    connect(cancelButton_, &QPushButton::clicked, this, &ExplorerPage::cancel);
    progress_ = new QProgressBar(bar);
    progress_->setRange(0, 100);
    progress_->setMaximumWidth(160);
    progress_->setTextVisible(true);
    status_ = new QLabel(bar);
    status_->setObjectName(QStringLiteral("explorerStatus"));
    actions->addWidget(inspectButton_);
    actions->addWidget(cancelButton_);
    actions->addWidget(progress_);
    grid->addLayout(actions, 1, 4, 1, 2);
    grid->addWidget(status_, 2, 1, 1, 5);
    grid->setColumnStretch(1, 1);
    return bar;
}

QWidget* ExplorerPage::buildNavigationBar() {
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(new QLabel(tr("Layer:"), bar));
    layerCombo_ = new QComboBox(bar);
    layerCombo_->setObjectName(QStringLiteral("explorerLayer"));
    connect(layerCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0) setLayer(i);
    });
    row->addWidget(layerCombo_);
    row->addWidget(new QLabel(tr("Head:"), bar));
    headCombo_ = new QComboBox(bar);
    connect(headCombo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0) setHead(i - 1);
    });
    row->addWidget(headCombo_);
    row->addSpacing(12);
    auto tool = [&](const QString& text, const QString& tip, auto fn) {
        auto* b = new QToolButton(bar);
        b->setText(text);
        b->setToolTip(tip);
        connect(b, &QToolButton::clicked, this, fn);
        row->addWidget(b);
        return b;
    };
    tool(QStringLiteral("−"), tr("Zoom out (wheel, or −)"), [this] {
        viewport_->zoomBy(1 / 2.0, viewport_->first() + viewport_->visibleTokens() / 2);
    });
    tool(QStringLiteral("+"), tr("Zoom in (wheel, or +)"), [this] {
        viewport_->zoomBy(2.0, viewport_->first() + viewport_->visibleTokens() / 2);
    });
    tool(tr("Fit"), tr("Show the whole document"), [this] { viewport_->fit(); });
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Go to token:"), bar));
    gotoSpin_ = new QSpinBox(bar);
    gotoSpin_->setObjectName(QStringLiteral("explorerGoto"));
    gotoSpin_->setRange(0, 0);
    gotoSpin_->setKeyboardTracking(false);
    connect(gotoSpin_, &QSpinBox::valueChanged, this, [this](int v) { goToToken(v); });
    row->addWidget(gotoSpin_);
    row->addSpacing(12);
    searchEdit_ = new QLineEdit(bar);
    searchEdit_->setObjectName(QStringLiteral("explorerSearch"));
    searchEdit_->setPlaceholderText(tr("Search tokens"));
    searchEdit_->setClearButtonEnabled(true);
    searchEdit_->setMaximumWidth(180);
    connect(searchEdit_, &QLineEdit::returnPressed, this, [this] {
        if (hits_.isEmpty() || searchEdit_->isModified()) {
            search(searchEdit_->text());
            searchEdit_->setModified(false);
        } else {
            findNext(1);
        }
    });
    row->addWidget(searchEdit_);
    tool(QStringLiteral("◀"), tr("Previous match"), [this] { findNext(-1); });
    tool(QStringLiteral("▶"), tr("Next match"), [this] { findNext(1); });
    hitsLabel_ = new QLabel(bar);
    row->addWidget(hitsLabel_);
    row->addStretch(1);
    exportButton_ = new QToolButton(bar);
    exportButton_->setText(tr("Export"));
    exportButton_->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(exportButton_);
    menu->addAction(tr("View as image (%1)…").arg(imageFormats().join(QStringLiteral(", ")).toUpper()), this,
                    [this] { exportWithDialog(true); });
    menu->addAction(tr("View's numbers as CSV…"), this, [this] { exportWithDialog(false); });
    exportButton_->setMenu(menu);
    row->addWidget(exportButton_);
    return bar;
}

QWidget* ExplorerPage::buildGaTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    gaView_ = new TokenTrackView(viewport_, tab);
    gaView_->setObjectName(QStringLiteral("gaView"));
    gaView_->setTracks({TokenTrackView::Track::Text, TokenTrackView::Track::GaLayer, TokenTrackView::Track::GaLayers});
    connect(gaView_, &TokenTrackView::tokenClicked, this, [this](qint64) { refreshDetails(); });
    v->addWidget(gaView_);
    v->addWidget(legend({{explorer_colors::heat(0.0), tr("α at or below the uniform share 1/L")}, {explorer_colors::heat(0.35), QString()},
                         {explorer_colors::heat(0.7), QString()}, {explorer_colors::heat(1.0), tr("the document's largest α (log scale)")}},
                        tab));
    auto* h = new QHBoxLayout;
    heatmap_ = new QCustomPlot(tab);
    heatmap_->setObjectName(QStringLiteral("gaHeatmap"));
    heatmap_->setMinimumHeight(150);
    heatmap_->setNoAntialiasingOnDrag(true);
    heatmap_->xAxis->setLabel(tr("token"));
    heatmap_->yAxis->setLabel(tr("layer"));
    heatmap_->yAxis->setRangeReversed(true);
    colorMap_ = new QCPColorMap(heatmap_->xAxis, heatmap_->yAxis);
    colorMap_->setInterpolate(false);
    colorMap_->setTightBoundary(false);
    auto* scale = new QCPColorScale(heatmap_);
    heatmap_->plotLayout()->addElement(0, 1, scale);
    scale->setType(QCPAxis::atRight);
    scale->setDataScaleType(QCPAxis::stLogarithmic);
    scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    scale->axis()->setLabel(tr("α × tokens (1 = uniform)"));
    colorMap_->setColorScale(scale);
    QCPColorGradient gradient;
    gradient.clearColorStops();
    for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) gradient.setColorStopAt(t, explorer_colors::heat(t));
    colorMap_->setGradient(gradient);
    auto* group = new QCPMarginGroup(heatmap_);
    heatmap_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    connect(heatmap_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (!current_) return;
        const double key = heatmap_->xAxis->pixelToCoord(e->position().x());
        const double layer = heatmap_->yAxis->pixelToCoord(e->position().y());
        const qint64 t = static_cast<qint64>(std::lround(key));
        const int l = static_cast<int>(std::lround(layer));
        if (l >= 0 && l < current_->layers) layerCombo_->setCurrentIndex(l);
        if (t >= 0 && t < current_->length) viewport_->setSelected(t);
    });
    h->addWidget(heatmap_, 1);
    auto* side = new QVBoxLayout;
    side->addWidget(new QLabel(tr("Top-weighted tokens (this layer): α, and α × L"), tab));
    topList_ = new QListWidget(tab);
    topList_->setObjectName(QStringLiteral("gaTopTokens"));
    topList_->setFixedWidth(250);
    connect(topList_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        goToToken(item->data(Qt::UserRole).toLongLong());
    });
    connect(topList_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        goToToken(item->data(Qt::UserRole).toLongLong());
    });
    side->addWidget(topList_, 1);
    h->addLayout(side);
    v->addLayout(h, 1);
    return tab;
}

QWidget* ExplorerPage::buildSmpTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    smpView_ = new TokenTrackView(viewport_, tab);
    smpView_->setObjectName(QStringLiteral("smpView"));
    smpView_->setTracks({TokenTrackView::Track::Text, TokenTrackView::Track::SmpWins});
    smpView_->setShowSmpSources(true);
    v->addWidget(smpView_);
    v->addWidget(legend({{explorer_colors::wins(0.0), tr("won no feature")},
                         {explorer_colors::wins(0.5), QString()},
                         {explorer_colors::wins(1.0), tr("won every feature of its segment's max")},
                         {QColor(0x8e, 0x1b, 0x9c), tr("outlined: where the selected token's SMP values come from")}},
                        tab));
    auto* h = new QHBoxLayout;
    auto* explain = new QLabel(
        tr("<p><b>Segment max-pooling</b> gives every token of a sentence (segment) the same vector: for each "
           "of the D features, the largest value any token of the sentence has. The strip shows, per layer, how many "
           "features each token <i>won</i> — the tokens that actually make up the sentence's summary. Click a token "
           "to see which tokens its SMP value came from.</p>"),
        tab);
    explain->setWordWrap(true);
    explain->setAlignment(Qt::AlignTop);
    h->addWidget(explain, 1);
    auto* side = new QVBoxLayout;
    side->addWidget(new QLabel(tr("SMP value of the selected token, from:"), tab));
    smpSources_ = new QListWidget(tab);
    smpSources_->setObjectName(QStringLiteral("smpSources"));
    smpSources_->setFixedWidth(320);
    connect(smpSources_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        viewport_->centerOn(item->data(Qt::UserRole).toLongLong());
    });
    side->addWidget(smpSources_, 1);
    h->addLayout(side);
    v->addLayout(h, 1);
    return tab;
}

QWidget* ExplorerPage::buildLmpTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    lmpView_ = new TokenTrackView(viewport_, tab);
    lmpView_->setObjectName(QStringLiteral("lmpView"));
    lmpView_->setTracks({TokenTrackView::Track::Text, TokenTrackView::Track::Lmp});
    v->addWidget(lmpView_);
    v->addWidget(legend({{explorer_colors::lmp(ponet::LmpSource::Left), tr("most features from the left neighbour")},
                         {explorer_colors::lmp(ponet::LmpSource::Self), tr("from the token itself")},
                         {explorer_colors::lmp(ponet::LmpSource::Right), tr("from the right neighbour")}},
                        tab));
    auto* explain = new QLabel(
        tr("<p><b>Local max-pooling</b> takes, for each feature, the largest value in the window of three tokens "
           "(left neighbour, the token, right neighbour). Each row is a layer; a column's colour says where most of "
           "the token's features came from (mixed colours: a split). [CLS] and [SEP] never take part in a window.</p>"),
        tab);
    explain->setWordWrap(true);
    explain->setAlignment(Qt::AlignTop);
    v->addWidget(explain);
    v->addStretch(1);
    return tab;
}

QWidget* ExplorerPage::buildSharesTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    sharesView_ = new TokenTrackView(viewport_, tab);
    sharesView_->setObjectName(QStringLiteral("sharesView"));
    sharesView_->setTracks({TokenTrackView::Track::Text, TokenTrackView::Track::Shares});
    v->addWidget(sharesView_);
    v->addWidget(legend({{explorer_colors::branch(ponet::Branch::Global), tr("global ‖g′ ⊙ O‖ (top)")},
                         {explorer_colors::branch(ponet::Branch::Segment), tr("segment ‖Ŝ ⊙ O‖")},
                         {explorer_colors::branch(ponet::Branch::Local), tr("local ‖L̂‖ (bottom)")}},
                        tab));
    auto* explain = new QLabel(
        tr("<p>A PoNet layer outputs y = g′ ⊙ O + Ŝ ⊙ O + L̂ for every token. The share of a part is its length "
           "(L2 norm over the features) divided by the sum of the three lengths, so the three shares add up to 1. "
           "Each row is a layer; each column stacks a token's three shares.</p>"),
        tab);
    explain->setWordWrap(true);
    v->addWidget(explain);
    sharesSummary_ = new QLabel(tab);
    sharesSummary_->setObjectName(QStringLiteral("sharesSummary"));
    sharesSummary_->setTextFormat(Qt::RichText);
    v->addWidget(sharesSummary_);
    v->addStretch(1);
    return tab;
}

QWidget* ExplorerPage::buildCompareTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    auto* withModel = new QPushButton(tr("B: another model or run…"), tab);
    connect(withModel, &QPushButton::clicked, this, &ExplorerPage::chooseCompareModel);
    auto* withDoc = new QPushButton(tr("B: another document…"), tab);
    connect(withDoc, &QPushButton::clicked, this, &ExplorerPage::chooseCompareDocument);
    controls->addWidget(withModel);
    controls->addWidget(withDoc);
    controls->addSpacing(16);
    controls->addWidget(new QLabel(tr("B: checkpoint of A's run:"), tab));
    scrubSlider_ = new QSlider(Qt::Horizontal, tab);
    scrubSlider_->setObjectName(QStringLiteral("scrubSlider"));
    scrubSlider_->setEnabled(false);
    scrubSlider_->setTickPosition(QSlider::TicksBelow);
    scrubSlider_->setPageStep(1);
    scrubSlider_->setMinimumWidth(200);
    controls->addWidget(scrubSlider_, 1);
    scrubLabel_ = new QLabel(tr("(A must be a run with checkpoints)"), tab);
    controls->addWidget(scrubLabel_);
    v->addLayout(controls);
    scrubTimer_ = new QTimer(this);
    scrubTimer_->setSingleShot(true);
    scrubTimer_->setInterval(150);  // scrubbing fast skips the steps passed over
    connect(scrubSlider_, &QSlider::valueChanged, this, [this](int i) {
        if (i >= 0 && i < scrubSteps_.size()) scrubLabel_->setText(tr("step %1").arg(scrubSteps_[i]));
        scrubTimer_->start();
    });
    connect(scrubTimer_, &QTimer::timeout, this, [this] {
        const int i = scrubSlider_->value();
        if (i >= 0 && i < scrubSteps_.size()) scrubToStep(scrubSteps_[i]);
    });

    auto* sides = new QHBoxLayout;
    auto side = [&](QLabel*& label, TokenTrackView*& view, TokenViewport* vp, const QString& name) {
        auto* col = new QVBoxLayout;
        label = new QLabel(tab);
        label->setWordWrap(true);
        label->setTextFormat(Qt::RichText);
        col->addWidget(label);
        view = new TokenTrackView(vp, tab);
        view->setObjectName(name);
        view->setDrivesViewport(false);
        view->setTracks({TokenTrackView::Track::Text, TokenTrackView::Track::GaLayers, TokenTrackView::Track::Shares});
        col->addWidget(view);
        col->addStretch(1);
        sides->addLayout(col, 1);
    };
    side(compareLabelA_, compareA_, viewport_, QStringLiteral("compareA"));
    side(compareLabelB_, compareB_view_, compareViewportB_, QStringLiteral("compareB"));
    compareLabelA_->setText(tr("<b>A</b>: the main inspection"));
    compareLabelB_->setText(tr("<b>B</b>: choose another model, document or checkpoint"));
    v->addLayout(sides, 1);
    v->addWidget(legend({{explorer_colors::heat(1.0), tr("GA weight α × L (log scale)")},
                         {explorer_colors::branch(ponet::Branch::Global), tr("global")},
                         {explorer_colors::branch(ponet::Branch::Segment), tr("segment")},
                         {explorer_colors::branch(ponet::Branch::Local), tr("local share")}},
                        tab));
    return tab;
}

QWidget* ExplorerPage::buildTeachTab() {
    auto* tab = new QWidget(this);
    auto* v = new QVBoxLayout(tab);
    v->setContentsMargins(4, 4, 4, 4);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Twelve toy tokens, four features, one head, through one PoNet layer. Toy numbers (seed):"), tab));
    teachSeed_ = new QSpinBox(tab);
    teachSeed_->setRange(0, 9999);
    teachSeed_->setValue(7);
    connect(teachSeed_, &QSpinBox::valueChanged, this, [this] { updateTeach(); });
    row->addWidget(teachSeed_);
    row->addStretch(1);
    v->addLayout(row);
    teachBrowser_ = new QTextBrowser(tab);
    teachBrowser_->setObjectName(QStringLiteral("teachBrowser"));
    v->addWidget(teachBrowser_, 1);
    return tab;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

void ExplorerPage::setModelPath(const QString& path) {
    modelEdit_->setText(path);
    refreshCheckpoints();
}

QString ExplorerPage::modelPath() const {
    return modelEdit_->text().trimmed();
}

void ExplorerPage::setCheckpoint(const QString& which) {
    int i = checkpointCombo_->findData(which);
    if (i < 0) {
        checkpointCombo_->addItem(which, which);
        i = checkpointCombo_->count() - 1;
    }
    checkpointCombo_->setCurrentIndex(i);
}

void ExplorerPage::refreshCheckpoints() {
    const QString path = modelPath();
    checkpointCombo_->clear();
    scrubSteps_.clear();
    scrubCache_.clear();
    if (isRunDirectory(path)) {
        checkpointCombo_->addItem(tr("best"), QStringLiteral("best"));
        checkpointCombo_->addItem(tr("last"), QStringLiteral("last"));
        for (const auto& [step, dir] : ponet::run_checkpoints(path.toStdString())) {
            (void)dir;
            scrubSteps_.append(step);
            checkpointCombo_->addItem(tr("step %1").arg(step), QStringLiteral("step-%1").arg(step));
        }
        checkpointCombo_->setEnabled(true);
    } else {
        checkpointCombo_->addItem(tr("(model directory)"), QStringLiteral("best"));
        checkpointCombo_->setEnabled(false);
        if (!path.isEmpty() && looksLikeModelSource(path)) {
            try {
                const ModelSource src = readModelSource(path);
                status_->setText(tr("Model %1: %2 layers, hidden %3, %4 heads")
                                     .arg(src.name)
                                     .arg(src.config.num_hidden_layers)
                                     .arg(src.config.hidden_size)
                                     .arg(src.config.num_attention_heads));
            } catch (const std::exception& e) {
                status_->setText(QString::fromStdString(e.what()));
            }
        }
    }
    scrubSlider_->setEnabled(scrubSteps_.size() >= 2);
    scrubSlider_->setRange(0, std::max(0, static_cast<int>(scrubSteps_.size()) - 1));
    scrubLabel_->setText(scrubSteps_.size() >= 2 ? tr("%1 checkpoints").arg(scrubSteps_.size())
                                                 : tr("(A must be a run with checkpoints)"));
}

void ExplorerPage::setDocumentText(const QString& text, const QString& name) {
    documentText_ = text;
    documentName_ = name;
    documentLabel_->setText(tr("%1 — %2 characters").arg(name).arg(text.size()));
    scrubCache_.clear();
}

bool ExplorerPage::openDocument(const QString& path, int index) {
    const QFileInfo info(path);
    if (!info.isFile() || !info.isReadable()) {
        showError(tr("Cannot read %1.").arg(path));
        return false;
    }
    const QString suffix = info.suffix().toLower();
    if (suffix == QLatin1String("jsonl") || suffix == QLatin1String("csv") || suffix == QLatin1String("tsv")) {
        // A dataset file: read it off the GUI thread, then let the user pick a document.
        auto result = std::make_shared<ponet::ImportResult>();
        auto error = std::make_shared<QString>();
        const std::string p = path.toStdString();
        QThread* reader = QThread::create([p, result, error] {
            try {
                *result = ponet::import_documents(p);
            } catch (const std::exception& e) {
                *error = QString::fromStdString(e.what());
            }
        });
        status_->setText(tr("Reading %1…").arg(info.fileName()));
        connect(reader, &QThread::finished, reader, &QObject::deleteLater);
        connect(reader, &QThread::finished, this, [this, result, error, index, name = info.fileName()] {
            if (!error->isEmpty()) return showError(*error);
            if (result->documents.empty())
                return showError(tr("%1 holds no documents:\n%2").arg(name, QString::fromStdString(result->report.summary())));
            int pick = index;
            if (pick < 0) {
                QStringList items;
                for (const auto& d : result->documents) {
                    QString head = QString::fromStdString(d.text.substr(0, 80)).simplified();
                    items << QStringLiteral("%1 — %2…").arg(QString::fromStdString(d.id), head);
                }
                bool ok = false;
                const QString chosen = QInputDialog::getItem(this, tr("Pick a document"),
                                                             tr("%1 documents in %2:").arg(items.size()).arg(name),
                                                             items, 0, false, &ok);
                if (!ok) return;
                pick = static_cast<int>(items.indexOf(chosen));
            }
            if (pick >= static_cast<int>(result->documents.size()))
                return showError(tr("%1 has %2 documents; there is no number %3.").arg(name).arg(result->documents.size()).arg(pick));
            const auto& d = result->documents[static_cast<size_t>(pick)];
            setDocumentText(QString::fromStdString(d.text), QStringLiteral("%1 · %2").arg(name, QString::fromStdString(d.id)));
            status_->setText(tr("Document %1 of %2 from %3.").arg(pick + 1).arg(result->documents.size()).arg(name));
        });
        reader->start();
        return true;
    }
    QFile f(path);
    if (info.size() > (64 << 20) || !f.open(QIODevice::ReadOnly)) {
        showError(info.size() > (64 << 20) ? tr("%1 is larger than 64 MiB.").arg(path) : tr("Cannot open %1.").arg(path));
        return false;
    }
    const QByteArray bytes = f.readAll();
    if (bytes.contains('\0')) {
        showError(tr("%1 is not a text file.").arg(info.fileName()));
        return false;
    }
    setDocumentText(QString::fromUtf8(bytes), info.fileName());
    return true;
}

void ExplorerPage::chooseModel() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a run or model directory"), modelPath());
    if (!dir.isEmpty()) setModelPath(dir);
}

void ExplorerPage::chooseDocument() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open a document"), QString(),
        tr("Text or dataset (*.txt *.md *.jsonl *.csv *.tsv);;All files (*)"));
    if (!path.isEmpty()) openDocument(path);
}

void ExplorerPage::pasteDocument() {
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Paste a document"));
    auto* v = new QVBoxLayout(&dialog);
    auto* edit = new QPlainTextEdit(&dialog);
    edit->setPlainText(documentText_);
    v->addWidget(edit);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    v->addWidget(buttons);
    dialog.resize(640, 420);
    if (dialog.exec() == QDialog::Accepted) setDocumentText(edit->toPlainText(), tr("pasted text"));
}

void ExplorerPage::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() || event->mimeData()->hasText()) event->acceptProposedAction();
}

void ExplorerPage::dropEvent(QDropEvent* event) {
    const QMimeData* m = event->mimeData();
    if (m->hasUrls() && !m->urls().isEmpty() && m->urls().first().isLocalFile()) {
        const QString path = m->urls().first().toLocalFile();
        if (QFileInfo(path).isDir()) setModelPath(path);  // a folder is a model or a run
        else openDocument(path);
    } else if (m->hasText()) {
        setDocumentText(m->text(), tr("dropped text"));
    }
    event->acceptProposedAction();
}

// ---------------------------------------------------------------------------------------------------------------
// Running inspections

void ExplorerPage::inspect() {
    if (modelPath().isEmpty()) return showError(tr("Choose a model first: a run directory or a model directory."));
    if (documentText_.trimmed().isEmpty()) return showError(tr("Open, paste or drop a document first."));
    QSettings().setValue(kModelKey, modelPath());
    InspectionRequest r;
    r.tag = QString::fromLatin1(kMainTag);
    r.modelPath = modelPath();
    r.checkpoint = checkpointCombo_->currentData().toString();
    r.text = documentText_;
    r.documentName = documentName_;
    submit(r);
}

void ExplorerPage::compareWithDocument(const QString& text, const QString& name) {
    if (modelPath().isEmpty()) return showError(tr("Choose a model first."));
    compareText_ = text;
    compareName_ = name;
    InspectionRequest r;
    r.tag = QString::fromLatin1(kCompareTag);
    r.modelPath = modelPath();
    r.checkpoint = checkpointCombo_->currentData().toString();
    r.text = text;
    r.documentName = name;
    submit(r);
}

void ExplorerPage::compareWithModel(const QString& path, const QString& checkpoint) {
    if (documentText_.trimmed().isEmpty()) return showError(tr("Open a document first."));
    InspectionRequest r;
    r.tag = QString::fromLatin1(kCompareTag);
    r.modelPath = path;
    r.checkpoint = checkpoint;
    r.text = documentText_;
    r.documentName = documentName_;
    submit(r);
}

void ExplorerPage::scrubToStep(qint64 step) {
    if (documentText_.trimmed().isEmpty()) return showError(tr("Open a document first."));
    if (auto it = scrubCache_.find(step); it != scrubCache_.end()) return showCompare(*it);
    InspectionRequest r;
    r.tag = QString::fromLatin1(kScrubTag);
    r.modelPath = modelPath();
    r.checkpoint = QStringLiteral("step-%1").arg(step);
    r.text = documentText_;
    r.documentName = documentName_;
    submit(r);
}

void ExplorerPage::chooseCompareDocument() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Document B"), QString(),
                                                      tr("Text (*.txt *.md);;All files (*)"));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return showError(tr("Cannot open %1.").arg(path));
    compareWithDocument(QString::fromUtf8(f.read(64 << 20)), QFileInfo(path).fileName());
}

void ExplorerPage::chooseCompareModel() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Model or run B"), modelPath());
    if (!dir.isEmpty()) compareWithModel(dir);
}

// One request runs at a time; a newer request of the same kind replaces a queued one and cancels a running one.
void ExplorerPage::submit(InspectionRequest request) {
    if (!request.tag.isEmpty()) {
        request.id = nextId_++;
        for (int i = static_cast<int>(queue_.size()) - 1; i >= 0; --i)
            if (queue_[i].tag == request.tag || (request.tag != QLatin1String(kMainTag) && queue_[i].tag != QLatin1String(kMainTag)))
                queue_.removeAt(i);
        for (const auto& running : pending_)
            if (running.tag == request.tag) worker_->requestCancel();
        queue_.append(request);
    }
    if (running_ || queue_.isEmpty()) {
        setBusy(running_ || !queue_.isEmpty());
        return;
    }
    const InspectionRequest next = queue_.takeFirst();
    pending_.insert(next.id, next);
    running_ = true;
    setBusy(true);
    progress_->setValue(0);
    status_->setText(tr("Inspecting %1 with %2…").arg(next.documentName, QFileInfo(next.modelPath).fileName()));
    worker_->rearm();
    QMetaObject::invokeMethod(worker_, [w = worker_, next] { w->inspect(next); }, Qt::QueuedConnection);
}

void ExplorerPage::cancel() {
    queue_.clear();
    worker_->requestCancel();
}

bool ExplorerPage::isBusy() const {
    return running_ || !queue_.isEmpty();
}

void ExplorerPage::setBusy(bool busy) {
    cancelButton_->setEnabled(busy);
    if (!busy) progress_->setValue(progress_->maximum());
    Q_EMIT busyChanged(busy);
}

void ExplorerPage::onProgress(quint64 id, double fraction, const QString& stage) {
    if (!pending_.contains(id)) return;
    progress_->setValue(static_cast<int>(std::lround(fraction * 100)));
    progress_->setFormat(stage);
}

void ExplorerPage::onFinished(quint64 id, const InspectionPtr& result) {
    const InspectionRequest req = pending_.take(id);
    running_ = false;
    progress_->setFormat(QStringLiteral("%p%"));
    if (req.tag == QLatin1String(kMainTag)) {
        showInspection(result);
        Q_EMIT inspected();
    } else {
        if (req.tag == QLatin1String(kScrubTag)) {
            const QString step = req.checkpoint.mid(5);
            scrubCache_.insert(step.toLongLong(), result);
        }
        showCompare(result);
        Q_EMIT compareInspected();
    }
    QString msg = tr("%1: %2 tokens, %3 layers (%4)")
                      .arg(QString::fromStdString(result->document))
                      .arg(result->length)
                      .arg(result->layers)
                      .arg(QString::fromStdString(result->checkpoint));
    if (!result->note.empty()) msg += QStringLiteral(" — ") + QString::fromStdString(result->note);
    status_->setText(msg);
    Q_EMIT logMessage(tr("Explorer: ") + msg);
    submit({});
}

void ExplorerPage::onFailed(quint64 id, const QString& message) {
    pending_.remove(id);
    running_ = false;
    progress_->setFormat(QStringLiteral("%p%"));
    showError(message);
    submit({});
}

void ExplorerPage::showError(const QString& message) {
    status_->setText(QStringLiteral("<span style='color:#b00020'>%1</span>").arg(message.toHtmlEscaped()));
    Q_EMIT logMessage(tr("Explorer: %1").arg(message));
    Q_EMIT failed(message);
}

// ---------------------------------------------------------------------------------------------------------------
// Showing results

void ExplorerPage::showInspection(const InspectionPtr& result) {
    current_ = result;
    const auto& r = *result;
    viewport_->setLength(r.length);
    for (TokenTrackView* v : {gaView_, smpView_, lmpView_, sharesView_, compareA_}) v->setInspection(result);
    {
        const QSignalBlocker b1(layerCombo_), b2(headCombo_), b3(gotoSpin_);
        layerCombo_->clear();
        for (int64_t l = 0; l < r.layers; ++l) layerCombo_->addItem(tr("%1").arg(l));
        headCombo_->clear();
        headCombo_->addItem(tr("mean"));
        for (int64_t h = 0; h < r.heads; ++h) headCombo_->addItem(tr("%1").arg(h));
        layer_ = std::clamp<int>(layer_, 0, static_cast<int>(r.layers) - 1);
        head_ = head_ >= r.heads ? -1 : head_;
        layerCombo_->setCurrentIndex(layer_);
        headCombo_->setCurrentIndex(head_ + 1);
        gotoSpin_->setRange(0, static_cast<int>(r.length - 1));
    }
    compareLabelA_->setText(tr("<b>A</b>: %1 · %2 · %3 tokens")
                                .arg(QFileInfo(QString::fromStdString(r.checkpoint)).fileName().toHtmlEscaped(),
                                     QString::fromStdString(r.document).toHtmlEscaped())
                                .arg(r.length));
    // The colour map: α × L per (token, layer), so 1 means "the uniform share".
    colorMap_->data()->setSize(static_cast<int>(r.length), static_cast<int>(r.layers));
    colorMap_->data()->setRange(QCPRange(0, static_cast<double>(r.length - 1)), QCPRange(0, static_cast<double>(r.layers - 1)));
    double lo = 1e30, hi = 0;
    for (int64_t l = 0; l < r.layers; ++l)
        for (int64_t t = 0; t < r.length; ++t) {
            const double v = std::max(1e-6, static_cast<double>(r.ga_mean(l, t)) * static_cast<double>(r.length));
            colorMap_->data()->setCell(static_cast<int>(t), static_cast<int>(l), v);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    colorMap_->setDataRange(QCPRange(std::max(lo, hi / 1e4), std::max(hi, lo * 1.01)));
    heatmap_->yAxis->setRange(-0.5, static_cast<double>(r.layers) - 0.5);
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    heatmap_->yAxis->setTicker(ticker);
    hits_.clear();
    hitIndex_ = -1;
    hitsLabel_->clear();
    refreshLayerViews();
    refreshHeatmapRange();
    refreshDetails();
}

void ExplorerPage::showCompare(const InspectionPtr& result) {
    compareB_ = result;
    const auto& r = *result;
    compareViewportB_->setLength(r.length);
    compareB_view_->setInspection(result);
    compareB_view_->setLayer(layer_);
    if (current_ && r.length == current_->length) {
        compareViewportB_->setWidth(viewport_->width());
        compareViewportB_->setView(viewport_->first(), viewport_->pixelsPerToken());
        compareViewportB_->setSelected(viewport_->selected());
    } else {
        compareViewportB_->setWidth(compareB_view_->width() - TokenTrackView::kLabelWidth - 4);
        compareViewportB_->fit();
    }
    compareLabelB_->setText(tr("<b>B</b>: %1 · %2 · %3 tokens")
                                .arg(QFileInfo(QString::fromStdString(r.checkpoint)).fileName().toHtmlEscaped(),
                                     QString::fromStdString(r.document).toHtmlEscaped())
                                .arg(r.length));
}

void ExplorerPage::setLayer(int layer) {
    if (!current_) return;
    layer_ = std::clamp<int>(layer, 0, static_cast<int>(current_->layers) - 1);
    if (layerCombo_->currentIndex() != layer_) {
        const QSignalBlocker b(layerCombo_);
        layerCombo_->setCurrentIndex(layer_);
    }
    refreshLayerViews();
    refreshDetails();
}

void ExplorerPage::setHead(int head) {
    if (!current_) return;
    head_ = std::clamp<int>(head, -1, static_cast<int>(current_->heads) - 1);
    if (headCombo_->currentIndex() != head_ + 1) {
        const QSignalBlocker b(headCombo_);
        headCombo_->setCurrentIndex(head_ + 1);
    }
    refreshLayerViews();
}

void ExplorerPage::refreshLayerViews() {
    for (TokenTrackView* v : {gaView_, smpView_, lmpView_, sharesView_, compareA_, compareB_view_}) {
        v->setLayer(layer_);
        v->setHead(head_);
    }
    topList_->clear();
    if (!current_) return;
    const auto& r = *current_;
    for (const auto& w : r.top_tokens(layer_, head_, 25)) {
        // Short enough for the list's width (the words went under a horizontal scroll bar); the tooltip says it all.
        const QString token = tokenText(r, w.token);
        const QString alpha = QString::number(w.weight, 'g', 3);
        const QString times = QString::number(w.weight * static_cast<double>(r.length), 'f', 2);
        auto* item = new QListWidgetItem(tr("#%1  %2   α %3 · %4×").arg(w.token).arg(token, alpha, times), topList_);
        item->setToolTip(tr("Token #%1 “%2”: GA weight α = %3, %4× the uniform share 1/%5")
                             .arg(w.token)
                             .arg(token, alpha, times)
                             .arg(r.length));
        item->setData(Qt::UserRole, static_cast<qlonglong>(w.token));
    }
    QString summary = tr("<b>Mean shares over the document</b>: ");
    for (int64_t l = 0; l < r.layers; ++l) {
        double s[3] = {0, 0, 0};
        for (int64_t t = 0; t < r.length; ++t)
            for (int b = 0; b < 3; ++b) s[b] += r.share(l, t, static_cast<ponet::Branch>(b));
        const double n = static_cast<double>(r.length);
        summary += tr("layer %1: %2% / %3% / %4%&nbsp;&nbsp; ")
                       .arg(l)
                       .arg(100 * s[0] / n, 0, 'f', 0)
                       .arg(100 * s[1] / n, 0, 'f', 0)
                       .arg(100 * s[2] / n, 0, 'f', 0);
    }
    sharesSummary_->setText(summary + tr("(global / segment / local)"));
}

void ExplorerPage::refreshHeatmapRange() {
    if (!current_) return;
    const double first = viewport_->first();
    heatmap_->xAxis->setRange(first - 0.5, first + viewport_->visibleTokens() - 0.5);
    heatmap_->replot(QCustomPlot::rpQueuedReplot);
}

void ExplorerPage::refreshDetails() {
    smpSources_->clear();
    if (!current_) {
        details_->setText(tr("<i>Drop a text file or a dataset file here, choose a model (a run or a model directory) "
                             "and press Inspect. Wheel: zoom · drag: pan · click: select a token.</i>"));
        return;
    }
    const auto& r = *current_;
    const qint64 t = viewport_->selected();
    if (t < 0 || t >= r.length) {
        details_->setText(tr("%1 tokens in %2 segments · %3 layers · %4 heads · %5 features. Click a token for its numbers.")
                              .arg(r.length)
                              .arg(r.segments)
                              .arg(r.layers)
                              .arg(r.heads)
                              .arg(r.hidden));
        return;
    }
    const int l = layer_;
    const auto u = static_cast<size_t>(t);
    details_->setText(
        tr("<b>#%1 “%2”</b> · segment %3 · layer %4 — <b>GA</b> α = %5 (%6× uniform) · <b>SMP</b> won %7 of %8 "
           "features · <b>LMP</b> left %9 / self %10 / right %11 · <b>shares</b> global %12%, segment %13%, local %14%")
            .arg(t)
            .arg(tokenText(r, t).toHtmlEscaped())
            .arg(r.segment_of[u])
            .arg(l)
            .arg(r.ga_mean(l, t), 0, 'g', 3)
            .arg(r.ga_mean(l, t) * static_cast<double>(r.length), 0, 'f', 2)
            .arg(r.smp_wins_at(l, t))
            .arg(r.hidden)
            .arg(r.lmp_count(l, t, ponet::LmpSource::Left))
            .arg(r.lmp_count(l, t, ponet::LmpSource::Self))
            .arg(r.lmp_count(l, t, ponet::LmpSource::Right))
            .arg(100 * r.share(l, t, ponet::Branch::Global), 0, 'f', 0)
            .arg(100 * r.share(l, t, ponet::Branch::Segment), 0, 'f', 0)
            .arg(100 * r.share(l, t, ponet::Branch::Local), 0, 'f', 0));
    for (const auto& src : r.smp_sources(l, t)) {
        auto* item = new QListWidgetItem(tr("#%1  %2 — %3 of %4 features")
                                             .arg(src.token)
                                             .arg(tokenText(r, src.token))
                                             .arg(src.features)
                                             .arg(r.hidden),
                                         smpSources_);
        item->setData(Qt::UserRole, static_cast<qlonglong>(src.token));
    }
}

QString ExplorerPage::detailsText() const {
    return details_->text();
}

// ---------------------------------------------------------------------------------------------------------------
// Navigation

void ExplorerPage::goToToken(qint64 token) {
    if (!current_ || token < 0 || token >= current_->length) return;
    viewport_->centerOn(token, std::max(viewport_->pixelsPerToken(), 40.0));
    viewport_->setSelected(token);
}

qint64 ExplorerPage::selectedToken() const {
    return viewport_->selected();
}

int ExplorerPage::search(const QString& text) {
    hits_.clear();
    hitIndex_ = -1;
    if (current_)
        for (int64_t t : current_->find(text.trimmed().toStdString())) hits_.append(t);
    for (TokenTrackView* v : {gaView_, smpView_, lmpView_, sharesView_, compareA_}) v->setSearchHits(hits_);
    if (hits_.isEmpty()) {
        hitsLabel_->setText(text.trimmed().isEmpty() ? QString() : tr("no match"));
        return 0;
    }
    findNext(1);
    return static_cast<int>(hits_.size());
}

void ExplorerPage::findNext(int direction) {
    if (hits_.isEmpty()) return;
    const int n = static_cast<int>(hits_.size());
    hitIndex_ = hitIndex_ < 0 ? 0 : ((hitIndex_ + direction) % n + n) % n;
    hitsLabel_->setText(tr("%1 of %2").arg(hitIndex_ + 1).arg(n));
    goToToken(hits_[hitIndex_]);
}

// ---------------------------------------------------------------------------------------------------------------
// Teach mode

void ExplorerPage::setTeachSeed(int seed) {
    teachSeed_->setValue(seed);
}

void ExplorerPage::updateTeach() {
    teachBrowser_->setHtml(teachHtml());
}

QString ExplorerPage::teachHtml() const {
    const ponet::TeachLayer t = ponet::teach_layer(static_cast<uint64_t>(teachSeed_->value()));
    const int64_t n = t.length, h = t.hidden;
    auto tok = [&](int64_t i) { return QString::fromStdString(t.tokens[static_cast<size_t>(i)]).toHtmlEscaped(); };
    auto num = [](double v) { return QString::number(v, 'f', 2); };
    auto matrix = [&](const QString& title, const std::vector<float>& m, double scale,
                      const std::vector<int64_t>* winners = nullptr) {
        QString s = QStringLiteral("<table cellspacing='0' cellpadding='2' style='border-collapse:collapse'>"
                                   "<tr><th colspan='%1' align='left'>%2</th></tr>")
                        .arg(h + 1)
                        .arg(title);
        for (int64_t i = 0; i < n; ++i) {
            s += QStringLiteral("<tr><td><b>%1</b></td>").arg(tok(i));
            for (int64_t c = 0; c < h; ++c) {
                const double v = t.at(m, i, c);
                QString cell = num(v);
                if (winners) {
                    const int64_t w = (*winners)[static_cast<size_t>(i * h + c)];
                    cell += w < i ? QStringLiteral(" ←") : w > i ? QStringLiteral(" →") : QStringLiteral(" ·");
                }
                s += QStringLiteral("<td nowrap align='right' bgcolor='%1'>%2</td>").arg(cellColour(v, scale), cell);
            }
            s += QStringLiteral("</tr>");
        }
        return s + QStringLiteral("</table>");
    };
    QString html = QStringLiteral("<html><body style='font-size:9pt'>");
    html += tr("<p><b>The toy:</b> ");
    for (int64_t i = 0; i < n; ++i)
        html += QStringLiteral("%1<sub>%2</sub> ").arg(tok(i)).arg(t.segment_of[static_cast<size_t>(i)]);
    html += tr(" — subscripts are the segment (sentence) ids. Each token has %1 features; the projections Q, K, O, S, "
               "L are x times a %1×%1 weight matrix (no bias).</p>")
                .arg(h);
    html += QStringLiteral("<table cellspacing='10'><tr><td valign='top'>");
    html += matrix(tr("input x"), t.x, 1.0);
    html += QStringLiteral("</td><td valign='top'>") + matrix(tr("Q = x·Wq"), t.q, 2.0);
    html += QStringLiteral("</td><td valign='top'>") + matrix(tr("K = x·Wk"), t.k, 2.0);
    // GA.
    html += QStringLiteral("</td><td valign='top'><table cellspacing='0' cellpadding='2'><tr><th colspan='3' align='left'>%1</th></tr>")
                .arg(tr("② one-query softmax"));
    html += tr("<tr><th></th><th>z = g·K/√%1</th><th>α</th></tr>").arg(h);
    double amax = 0;
    for (float a : t.alpha) amax = std::max<double>(amax, a);
    for (int64_t i = 0; i < n; ++i)
        html += QStringLiteral("<tr><td><b>%1</b></td><td align='right'>%2</td><td align='right' bgcolor='%3'>%4</td></tr>")
                    .arg(tok(i), num(t.scores[static_cast<size_t>(i)]),
                         explorer_colors::heat(t.alpha[static_cast<size_t>(i)] / amax * 0.8).name(),
                         QString::number(t.alpha[static_cast<size_t>(i)], 'f', 3));
    html += QStringLiteral("</table></td></tr></table>");
    auto vec = [&](const std::vector<float>& v) {
        QStringList parts;
        for (float e : v) parts << num(e);
        return QStringLiteral("[") + parts.join(QStringLiteral(", ")) + QStringLiteral("]");
    };
    html += tr("<p>① <b>GA stage 1</b>: g = mean of the rows of Q = %1. &nbsp; ② <b>GA stage 2</b>: every key is scored "
               "against g, softmax turns the scores into weights α (they add up to 1), and g′ = Σ α·K = %2 — "
               "one vector that summarises the whole sequence.</p>")
                .arg(vec(t.g), vec(t.g_prime));
    // SMP and LMP.
    html += QStringLiteral("<table cellspacing='10'><tr><td valign='top'>") + matrix(tr("S = x·Ws"), t.s, 2.0);
    html += QStringLiteral("</td><td valign='top'><table cellspacing='0' cellpadding='2'><tr><th colspan='%1' align='left'>%2</th></tr>")
                .arg(h + 1)
                .arg(tr("③ segment maxima (winner)"));
    for (int64_t s = 0; s < t.segments; ++s) {
        html += QStringLiteral("<tr><td nowrap><b>§%1</b></td>").arg(s);
        for (int64_t c = 0; c < h; ++c) {
            const size_t e = static_cast<size_t>(s * h + c);
            html += QStringLiteral("<td nowrap align='right' bgcolor='%1'>%2 <small>%3</small></td>")
                        .arg(cellColour(t.segment_max[e], 2.0), num(t.segment_max[e]), tok(t.segment_winner[e]));
        }
        html += QStringLiteral("</tr>");
    }
    html += QStringLiteral("</table></td><td valign='top'>") + matrix(tr("L = x·Wl"), t.l, 2.0);
    html += QStringLiteral("</td><td valign='top'>") + matrix(tr("④ L̂ = window max (←·→)"), t.l_hat, 2.0, &t.l_winner);
    html += QStringLiteral("</td><td valign='top'>") + matrix(tr("O = x·Wo"), t.o, 2.0);
    html += QStringLiteral("</td><td valign='top'>") + matrix(tr("⑤ y = (g′ + Ŝ) ⊙ O + L̂"), t.y, 3.0);
    html += QStringLiteral("</td></tr></table>");
    html += tr("<p>③ <b>SMP</b>: for each sentence and feature, the largest S value; every token of the sentence gets "
               "that vector (Ŝ). ④ <b>LMP</b>: for each token and feature, the largest L among left neighbour, itself and "
               "right neighbour; [CLS] and [SEP] are left out (their Ŝ and L̂ are 0). ⑤ <b>Fusion</b>: the global summary g′ "
               "and the sentence summary Ŝ scale O, and the local max is added.</p>");
    return html + QStringLiteral("</body></html>");
}

// ---------------------------------------------------------------------------------------------------------------
// Export

QStringList ExplorerPage::imageFormats() {
    QStringList f{QStringLiteral("png"), QStringLiteral("pdf")};
#ifdef PONET_HAVE_QTSVG
    f << QStringLiteral("svg");
#endif
    return f;
}

TokenTrackView* ExplorerPage::trackView(const QString& id) const {
    if (id == QLatin1String("ga")) return gaView_;
    if (id == QLatin1String("smp")) return smpView_;
    if (id == QLatin1String("lmp")) return lmpView_;
    if (id == QLatin1String("shares")) return sharesView_;
    if (id == QLatin1String("compare")) return compareA_;
    if (id == QLatin1String("compareB")) return compareB_view_;
    return nullptr;
}

bool ExplorerPage::exportImage(const QString& path, QString* error) {
    QWidget* view = tabs_->currentWidget();
    const QString suffix = QFileInfo(path).suffix().toLower();
    auto fail = [&](const QString& m) {
        if (error) *error = m;
        return false;
    };
    if (suffix == QLatin1String("png")) {
        if (!view->grab().save(path, "PNG")) return fail(tr("Could not write %1.").arg(path));
        return true;
    }
    if (suffix == QLatin1String("pdf")) {
        QPdfWriter pdf(path);
        pdf.setResolution(96);
        pdf.setPageSize(QPageSize(QSizeF(view->width(), view->height()), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter p;
        if (!p.begin(&pdf)) return fail(tr("Could not write %1.").arg(path));
        const double s = std::min(pdf.width() / double(view->width()), pdf.height() / double(view->height()));
        p.scale(s, s);
        view->render(&p);
        p.end();
        return true;
    }
#ifdef PONET_HAVE_QTSVG
    if (suffix == QLatin1String("svg")) {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(view->size());
        svg.setViewBox(QRect(QPoint(0, 0), view->size()));
        QPainter p(&svg);
        view->render(&p);
        return true;
    }
#endif
    return fail(tr("Images are written as %1; “%2” is not one of them.")
                    .arg(imageFormats().join(QStringLiteral(", ")).toUpper(), suffix));
}

QString ExplorerPage::csvForCurrentView() const {
    const QString id = currentView();
    if (id == QLatin1String("teach"))
        return QString::fromStdString(ponet::to_csv(ponet::teach_layer(static_cast<uint64_t>(teachSeed_->value()))));
    if (!current_) return {};
    if (id == QLatin1String("compare")) {
        // Both sides' shares and GA weights, one row per (side, layer, token).
        QString out = QStringLiteral("side,layer,token_index,token,segment,ga_mean,global,segment_share,local\n");
        for (const auto& [side, res] : {std::make_pair(QStringLiteral("A"), current_), std::make_pair(QStringLiteral("B"), compareB_)}) {
            if (!res) continue;
            const std::string csv = res->to_csv("shares");
            const std::string ga = res->to_csv("ga");
            QStringList sl = QString::fromStdString(csv).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
            QStringList gl = QString::fromStdString(ga).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
            for (int i = 1; i < sl.size() && i < gl.size(); ++i) {
                // shares: layer,idx,token,segment,g,s,l — ga: ...,mean is the last field.
                const QString gaMean = gl[i].section(QLatin1Char(','), -1);
                const QStringList f = sl[i].split(QLatin1Char(','));
                const QString head = f.mid(0, f.size() - 3).join(QLatin1Char(','));
                out += side + QLatin1Char(',') + head + QLatin1Char(',') + gaMean + QLatin1Char(',') +
                       f.mid(f.size() - 3).join(QLatin1Char(',')) + QLatin1Char('\n');
            }
        }
        return out;
    }
    return QString::fromStdString(current_->to_csv(id.toStdString()));
}

bool ExplorerPage::exportCsv(const QString& path, QString* error) {
    const QString csv = csvForCurrentView();
    if (csv.isEmpty()) {
        if (error) *error = tr("Nothing to export yet: inspect a document first.");
        return false;
    }
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(csv.toUtf8()) < 0 || !f.commit()) {
        if (error) *error = tr("Could not write %1: %2").arg(path, f.errorString());
        return false;
    }
    return true;
}

void ExplorerPage::exportWithDialog(bool image) {
    const QString base = QStringLiteral("explorer-%1").arg(currentView());
    QString filter;
    if (image) {
        QStringList parts;
        for (const QString& f : imageFormats()) parts << QStringLiteral("%1 (*.%2)").arg(f.toUpper(), f);
        filter = parts.join(QStringLiteral(";;"));
    } else {
        filter = tr("CSV (*.csv)");
    }
    const QString path = QFileDialog::getSaveFileName(this, image ? tr("Export view") : tr("Export numbers"),
                                                      base + (image ? QStringLiteral(".png") : QStringLiteral(".csv")), filter);
    if (path.isEmpty()) return;
    QString error;
    const bool ok = image ? exportImage(path, &error) : exportCsv(path, &error);
    if (!ok) showError(error);
    else status_->setText(tr("Wrote %1.").arg(path));
}

}  // namespace ponet::gui
