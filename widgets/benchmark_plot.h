// One benchmark chart: a quantity (speed or peak memory) against sequence length, log-log, one curve per
// mixer, as in the PoNet paper's Table 2. Comparison curves (another device or an earlier run) are drawn
// dashed.
#pragma once
#include <QColor>
#include <QString>
#include <QVector>

#include "widgets/qcp.h"

namespace ponet::gui {

class BenchmarkPlot : public QCustomPlot {
    Q_OBJECT
  public:
    struct Series {
        QString label;
        QColor color;
        bool dashed = false;
        QVector<double> lengths, values;  // finished cells only, by increasing length
        QVector<double> oomLengths;       // cells that ran out of memory: marked "OOM" at the top
    };

    explicit BenchmarkPlot(const QString& title, QWidget* parent = nullptr);

    // Replaces every curve; an empty list shows `emptyText` instead.
    void setSeries(const QVector<Series>& series, const QString& valueLabel, const QString& emptyText);
    int curveCount() const { return graphCount(); }
    void setTitle(const QString& title) { title_->setText(title); }

    // The colour each mixer has in every chart of the page.
    static QColor mixerColor(const QString& mixer);

  private:
    QCPTextElement* title_ = nullptr;
    QCPItemText* empty_ = nullptr;
};

}  // namespace ponet::gui
