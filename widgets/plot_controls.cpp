#include "widgets/plot_controls.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSpinBox>
#include <QStyle>
#include <QTemporaryDir>
#include <QToolButton>

namespace ponet::gui {

PlotControls::PlotControls(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    smoothing_ = new QComboBox(this);
    smoothing_->setObjectName(QStringLiteral("smoothingCombo"));
    smoothing_->addItem(tr("None"), static_cast<int>(Smoothing::None));
    smoothing_->addItem(tr("EMA"), static_cast<int>(Smoothing::Ema));
    smoothing_->addItem(tr("Moving average"), static_cast<int>(Smoothing::MovingAverage));
    smoothing_->setToolTip(tr("Smoothing of the curves; the raw values stay faint behind"));
    auto* smoothingLabel = new QLabel(tr("&Smooth:"), this);
    smoothing_->setAccessibleName(tr("Smoothing"));
    smoothingLabel->setBuddy(smoothing_);

    weight_ = new QDoubleSpinBox(this);
    weight_->setObjectName(QStringLiteral("emaWeight"));
    weight_->setRange(0.0, 0.99);
    weight_->setSingleStep(0.05);
    weight_->setDecimals(2);
    weight_->setToolTip(tr("EMA weight: 0 follows every point, near 1 is very smooth (bias-corrected)"));
    weight_->setAccessibleName(tr("EMA weight"));
    window_ = new QSpinBox(this);
    window_->setObjectName(QStringLiteral("averageWindow"));
    window_->setRange(2, 1000);
    window_->setSuffix(tr(" points"));
    window_->setToolTip(tr("Points averaged by the moving average"));
    window_->setAccessibleName(tr("Moving-average window"));

    logY_ = new QCheckBox(tr("&Log y"), this);
    logY_->setObjectName(QStringLiteral("logYCheck"));
    logY_->setToolTip(tr("Logarithmic y axis"));

    xAxis_ = new QComboBox(this);
    xAxis_->setObjectName(QStringLiteral("xAxisCombo"));
    xAxis_->addItem(tr("Step"), static_cast<int>(XAxisKind::Step));
    xAxis_->addItem(tr("Epoch"), static_cast<int>(XAxisKind::Epoch));
    xAxis_->addItem(tr("Wall time"), static_cast<int>(XAxisKind::WallTime));
    auto* xLabel = new QLabel(tr("&X:"), this);
    xAxis_->setAccessibleName(tr("X axis"));
    xAxis_->setToolTip(tr("What the x axis counts: optimizer steps, epochs or wall time"));
    xLabel->setBuddy(xAxis_);

    follow_ = new QToolButton(this);
    follow_->setObjectName(QStringLiteral("followButton"));
    follow_->setText(tr("&Follow"));
    follow_->setToolTip(tr("Show all points and keep up with new ones (panning or zooming a plot pauses this)"));
    connect(follow_, &QToolButton::clicked, this, [this] {
        for (const auto& p : plots_)
            if (p) p->setFollowing(true);
    });

    export_ = new QToolButton(this);
    export_->setObjectName(QStringLiteral("exportButton"));
    export_->setText(tr("&Export…"));
    export_->setIcon(style()->standardIcon(QStyle::SP_DialogSaveButton));
    export_->setToolButtonStyle(Qt::ToolButtonIconOnly);
    export_->setAccessibleName(tr("Export plots"));
    export_->setToolTip(tr("Save the curves' data as CSV, or every plot as PNG, PDF or SVG images"));
    connect(export_, &QToolButton::clicked, this, &PlotControls::chooseExport);

    layout->addWidget(smoothingLabel);
    layout->addWidget(smoothing_);
    layout->addWidget(weight_);
    layout->addWidget(window_);
    layout->addWidget(logY_);
    layout->addWidget(xLabel);
    layout->addWidget(xAxis_);
    layout->addStretch(1);
    layout->addWidget(follow_);
    layout->addWidget(export_);

    updateWidgets();
    connect(smoothing_, &QComboBox::currentIndexChanged, this, &PlotControls::readWidgets);
    connect(weight_, &QDoubleSpinBox::valueChanged, this, &PlotControls::readWidgets);
    connect(window_, &QSpinBox::valueChanged, this, &PlotControls::readWidgets);
    connect(logY_, &QCheckBox::toggled, this, &PlotControls::readWidgets);
    connect(xAxis_, &QComboBox::currentIndexChanged, this, &PlotControls::readWidgets);
}

void PlotControls::setPlots(const QList<MetricPlot*>& plots) {
    plots_.clear();
    for (MetricPlot* p : plots) {
        plots_ << p;
        p->setPlotStyle(style_);
    }
}

void PlotControls::setPlotStyle(const PlotStyle& style) {
    style_ = style;
    style_.emaWeight = std::clamp(style_.emaWeight, 0.0, 0.99);
    style_.window = std::clamp(style_.window, 2, 1000);
    updateWidgets();
    for (const auto& p : plots_)
        if (p) p->setPlotStyle(style_);
    Q_EMIT plotStyleChanged(style_);
}

void PlotControls::readWidgets() {
    if (updating_) return;
    PlotStyle s;
    s.smoothing = static_cast<Smoothing>(smoothing_->currentData().toInt());
    s.emaWeight = weight_->value();
    s.window = window_->value();
    s.logY = logY_->isChecked();
    s.xAxis = static_cast<XAxisKind>(xAxis_->currentData().toInt());
    setPlotStyle(s);
}

void PlotControls::updateWidgets() {
    updating_ = true;
    smoothing_->setCurrentIndex(smoothing_->findData(static_cast<int>(style_.smoothing)));
    weight_->setValue(style_.emaWeight);
    window_->setValue(style_.window);
    weight_->setVisible(style_.smoothing == Smoothing::Ema);
    window_->setVisible(style_.smoothing == Smoothing::MovingAverage);
    logY_->setChecked(style_.logY);
    xAxis_->setCurrentIndex(xAxis_->findData(static_cast<int>(style_.xAxis)));
    updating_ = false;
}

bool PlotControls::exportCsv(const QString& path, QString* error) const {
    // Each plot writes its own CSV; the rows are gathered under one header with the plot's title in front.
    QTemporaryDir tmp;
    QByteArray out = "plot,run,metric,step,epoch,seconds,value\n";
    int index = 0;
    for (const auto& p : plots_) {
        if (!p) continue;
        const QString part = tmp.filePath(QString::number(index++) + QStringLiteral(".csv"));
        if (!p->exportCsv(part, error)) return false;
        QFile f(part);
        if (!f.open(QIODevice::ReadOnly)) continue;
        f.readLine();  // header
        QString title = p->title();
        title.replace(QLatin1Char('"'), QStringLiteral("\"\""));
        const QByteArray prefix = '"' + title.toUtf8() + "\",";
        while (!f.atEnd()) out += prefix + f.readLine();
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(out) != out.size() || !file.commit()) {
        if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void PlotControls::chooseExport() {
    QMenu menu(this);
    QAction* csv = menu.addAction(tr("All Curves as &CSV…"));
    QAction* png = menu.addAction(tr("Every Plot as &PNG…"));
    QAction* pdf = menu.addAction(tr("Every Plot as P&DF…"));
    QAction* svg = menu.addAction(tr("Every Plot as &SVG…"));
    QAction* chosen = menu.exec(export_->mapToGlobal(QPoint(0, export_->height())));
    if (!chosen) return;
    QString error;
    if (chosen == csv) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export Curves"), QStringLiteral("curves.csv"),
                                                          tr("CSV files (*.csv)"));
        if (!path.isEmpty() && !exportCsv(path, &error)) QMessageBox::warning(this, tr("Export Curves"), error);
        return;
    }
    if (chosen != png && chosen != pdf && chosen != svg) return;
    const QString suffix =
        chosen == png ? QStringLiteral("png") : chosen == pdf ? QStringLiteral("pdf") : QStringLiteral("svg");
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the Plot Images"));
    if (dir.isEmpty()) return;
    int index = 0;
    for (const auto& p : plots_) {
        if (!p) continue;
        QString name = p->title();
        name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_-]+")), QStringLiteral("-"));
        const QString path =
            QDir(dir).filePath(QStringLiteral("%1-%2.%3").arg(++index, 2, 10, QLatin1Char('0')).arg(name, suffix));
        if (!p->exportImage(path, &error)) {
            QMessageBox::warning(this, tr("Export Plots"), error);
            return;
        }
    }
}

}  // namespace ponet::gui
