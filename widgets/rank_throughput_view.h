// Per-rank throughput of a data-parallel run: one bar per worker with its own tokens per second (the world's
// total and the slowest rank's share of the fastest in a line below), from StepMetrics::rank_tokens_per_second
// that rank 0 gathers at each logging step. A straggler (a busy GPU, a slow host) shows as a short bar.
#pragma once
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPBars;
class QLabel;

namespace ponet::gui {

class RankThroughputView : public QWidget {
    Q_OBJECT
  public:
    explicit RankThroughputView(QWidget* parent = nullptr);

    // Shows the ranks' tokens/s at `step`; a world of one (or no values) clears the view.
    void setRankThroughput(qint64 step, int worldSize, const QVector<double>& tokensPerSecond);
    void clear();

    int worldSize() const { return worldSize_; }
    QVector<double> tokensPerSecond() const { return values_; }
    qint64 step() const { return step_; }
    QString summaryText() const;

  private:
    QCustomPlot* plot_ = nullptr;
    QCPBars* bars_ = nullptr;
    QLabel* summary_ = nullptr;
    int worldSize_ = 0;
    qint64 step_ = 0;
    QVector<double> values_;
};

}  // namespace ponet::gui
