#include "widgets/rank_throughput_view.h"

#include <QLabel>
#include <QLocale>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "widgets/qcp.h"

namespace ponet::gui {

RankThroughputView::RankThroughputView(QWidget* parent) : QWidget(parent) {
    setAccessibleName(tr("Tokens per second of each rank"));
    plot_ = new QCustomPlot(this);
    plot_->setObjectName(QStringLiteral("rankPlot"));
    plot_->setMinimumSize(200, 120);
    QFont titleFont = font();
    titleFont.setBold(true);
    plot_->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(plot_, tr("Tokens/s per rank"), titleFont);
    title->setMargins(QMargins(0, 2, 0, 0));
    plot_->plotLayout()->addElement(0, 0, title);
    QFont small = font();
    small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.5));
    plot_->xAxis->setTickLabelFont(small);
    plot_->yAxis->setTickLabelFont(small);
    plot_->yAxis->setLabelFont(small);
    plot_->yAxis->setLabel(tr("tokens/s"));
    plot_->xAxis->grid()->setVisible(false);

    bars_ = new QCPBars(plot_->xAxis, plot_->yAxis);
    bars_->setWidth(0.6);
    bars_->setPen(QPen(QColor(0, 114, 178)));
    bars_->setBrush(QColor(0, 114, 178, 150));

    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("rankSummary"));
    summary_->setWordWrap(true);
    summary_->setFont(small);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(plot_, 1);
    layout->addWidget(summary_);
    clear();
}

void RankThroughputView::clear() {
    setRankThroughput(0, 1, {});
}

QString RankThroughputView::summaryText() const {
    return summary_->text();
}

void RankThroughputView::setRankThroughput(qint64 step, int worldSize, const QVector<double>& tokensPerSecond) {
    step_ = step;
    worldSize_ = worldSize;
    values_ = tokensPerSecond;
    QVector<double> keys;
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (int r = 0; r < values_.size(); ++r) {
        keys << r;
        ticker->addTick(r, tr("rank %1").arg(r));
    }
    plot_->xAxis->setTicker(ticker);
    bars_->setData(keys, values_, true);
    plot_->clearItems();
    const QLocale locale;
    double top = 0;
    for (double v : std::as_const(values_))
        if (std::isfinite(v)) top = std::max(top, v);
    for (int r = 0; r < values_.size(); ++r) {
        if (!std::isfinite(values_[r])) continue;
        auto* label = new QCPItemText(plot_);
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->position->setCoords(r, values_[r]);
        label->setText(locale.toString(values_[r], 'f', 0));
        label->setFont(summary_->font());
        label->setPadding(QMargins(0, 0, 0, 2));
    }
    plot_->xAxis->setRange(-0.6, std::max<qsizetype>(1, values_.size()) - 0.4);
    plot_->yAxis->setRange(0, top > 0 ? top * 1.2 : 1);
    plot_->replot(QCustomPlot::rpQueuedReplot);

    if (values_.isEmpty() || worldSize_ < 2) {
        summary_->setText(tr("One process: the run is not data-parallel. Choose “All local GPUs” or CPU processes "
                             "to train on several workers."));
        return;
    }
    double total = 0, low = INFINITY;
    int slowest = 0;
    for (int r = 0; r < values_.size(); ++r) {
        total += values_[r];
        if (values_[r] < low) {
            low = values_[r];
            slowest = r;
        }
    }
    summary_->setText(tr("World size %1 · %2 tokens/s in all at step %3 · slowest: rank %4, %5 % of the fastest")
                          .arg(worldSize_)
                          .arg(locale.toString(total, 'f', 0))
                          .arg(step_)
                          .arg(slowest)
                          .arg(top > 0 ? std::lround(100 * low / top) : 0));
}

}  // namespace ponet::gui
