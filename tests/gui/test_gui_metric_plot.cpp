// The live metric plot: smoothing against hand-computed values, series of several runs side by side, drawing
// on the UI timer rather than per point, log-y, the x-axis choices, the hover read-out, auto-follow that
// pauses when the user pans, and CSV / PNG / PDF export.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

#include <cmath>

#include "gui_test_support.h"
#include "widgets/legend_placement.h"
#include "widgets/metric_plot.h"
#include "widgets/plot_controls.h"
#include "widgets/qcp.h"
#include "widgets/smoothing.h"
#include "widgets/svg_export.h"

using namespace ponet::gui;

namespace {

QVector<MetricPoint> line(int n, double (*f)(int)) {
    QVector<MetricPoint> out;
    for (int i = 0; i < n; ++i) out << MetricPoint{double(i + 1), (i + 1) / 10.0, 2.0 * (i + 1), f(i)};
    return out;
}

}  // namespace

class TestMetricPlot : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void emaIsBiasCorrected() {
        // w = 0.5 over 2, 4: s1 = 1 -> 1/(1-0.5) = 2; s2 = 0.5 + 2 = 2.5 -> 2.5/(1-0.25) = 3.333...
        const auto s = emaBiasCorrected({2, 4, NAN, 4}, 0.5);
        QCOMPARE(s[0], 2.0);
        QVERIFY(std::fabs(s[1] - 10.0 / 3.0) < 1e-12);
        QVERIFY(std::isnan(s[2]));
        // s3 = 1.25 + 2 = 3.25 -> 3.25 / (1 - 0.125) = 3.714285...
        QVERIFY(std::fabs(s[3] - 3.25 / 0.875) < 1e-12);
        // A constant stays constant from the first point on (no pull towards zero).
        for (double v : emaBiasCorrected({5, 5, 5, 5}, 0.9)) QVERIFY(std::fabs(v - 5) < 1e-12);
        QCOMPARE(emaBiasCorrected({1, 3}, 0.0), (std::vector<double>{1, 3}));
    }

    void movingAverageIsTrailing() {
        const auto m = trailingMovingAverage({1, 2, 3, 4, NAN, 5}, 2);
        QCOMPARE(m[0], 1.0);
        QCOMPARE(m[1], 1.5);
        QCOMPARE(m[2], 2.5);
        QCOMPARE(m[3], 3.5);
        QVERIFY(std::isnan(m[4]));
        QCOMPARE(m[5], 4.5);
    }

    void seriesOfSeveralRunsAndTimerRedraw() {
        MetricPlot plot(QStringLiteral("loss"));
        plot.resize(500, 300);
        plot.show();
        QSignalSpy redrawn(&plot, &MetricPlot::redrawn);
        plot.addSeries(QStringLiteral("run-a"), QStringLiteral("loss"), line(50, [](int i) { return 3.0 / (i + 1); }));
        for (int i = 0; i < 20; ++i)
            plot.appendPoints(QStringLiteral("run-b"), QStringLiteral("loss"),
                              {MetricPoint{double(i + 1), 0, 0, 2.0 + std::sin(i)}});
        QCOMPARE(plot.seriesCount(), 2);
        QCOMPARE(plot.points(QStringLiteral("run-b"), QStringLiteral("loss")).size(), 20);
        QCOMPARE(plot.totalPoints(), 70);
        QCOMPARE(redrawn.count(), 0);  // nothing drawn per point...
        QTRY_COMPARE(redrawn.count(), 1);  // ...one redraw on the timer for all of them
        // Raw faint curve plus the smoothed one, for each series; the legend names the runs.
        QCOMPARE(plot.customPlot()->graphCount(), 4);
        QVERIFY(plot.customPlot()->legend->visible());
        QVERIFY(plot.customPlot()->graph(0)->pen().color().alpha() < 255);
        QCOMPARE(plot.customPlot()->graph(1)->pen().color().alpha(), 255);
        plot.removeRun(QStringLiteral("run-a"));
        QCOMPARE(plot.seriesCount(), 1);
        QCOMPARE(plot.customPlot()->graphCount(), 2);
    }

    void timeAndStepAxisLabels() {
        MetricPlot plot(QStringLiteral("loss"));
        plot.resize(500, 300);
        PlotStyle st;
        // Ten points `seconds` apart against wall time: the x-axis labels.
        auto wallTimeLabels = [&](double seconds) {
            st.xAxis = XAxisKind::WallTime;
            plot.setPlotStyle(st);
            QVector<MetricPoint> points;
            for (int i = 1; i <= 10; ++i) points << MetricPoint{double(i), 0, seconds * i, 1.0 / i};
            plot.addSeries(QStringLiteral("r"), QStringLiteral("loss"), points);
            plot.redrawNow();
            plot.customPlot()->replot();
            return plot.customPlot()->xAxis->tickVectorLabels().toList();
        };
        // A two-second run (a short race): several ticks in seconds with decimals, not one "0:00:01".
        QStringList labels = wallTimeLabels(0.2);
        QVERIFY2(labels.size() >= 3, qPrintable(labels.join(QLatin1Char('|'))));
        QVERIFY2(labels.contains(QStringLiteral("1 s")), qPrintable(labels.join(QLatin1Char('|'))));
        // Against steps (ten of them), the labels are whole numbers only.
        st.xAxis = XAxisKind::Step;
        plot.setPlotStyle(st);
        plot.redrawNow();
        plot.customPlot()->replot();
        const QVector<double> steps = plot.customPlot()->xAxis->tickVector();
        QVERIFY(steps.size() >= 3);
        for (double x : steps) QCOMPARE(x, std::round(x));
        // An hour-long run: hours, minutes and seconds.
        labels = wallTimeLabels(360.0);
        QVERIFY2(labels.size() >= 3, qPrintable(labels.join(QLatin1Char('|'))));
        QVERIFY2(labels.contains(QStringLiteral("00:30:00")), qPrintable(labels.join(QLatin1Char('|'))));
    }

    void axesLogYAndReadout() {
        MetricPlot plot(QStringLiteral("lr"));
        plot.resize(500, 300);
        plot.show();
        plot.addSeries(QString(), QStringLiteral("lr"), line(10, [](int i) { return i == 0 ? 0.0 : 1e-3 * i; }));
        PlotStyle s;
        s.smoothing = Smoothing::None;
        s.logY = true;
        plot.setPlotStyle(s);
        QCOMPARE(plot.customPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        // Zero cannot sit on a log axis: it is left out of the drawn data instead of breaking the scale.
        QVERIFY(std::isnan(plot.customPlot()->graph(0)->data()->constBegin()->value));
        QVERIFY(plot.customPlot()->yAxis->range().lower > 0);
        QVERIFY2(plot.readoutAt(3.2).contains(QStringLiteral("step 3")), qPrintable(plot.readoutAt(3.2)));
        QVERIFY(plot.readoutAt(3.2).contains(QStringLiteral("0.002")));
        s.xAxis = XAxisKind::Epoch;
        plot.setPlotStyle(s);
        QCOMPARE(plot.customPlot()->graph(0)->data()->constBegin()->key, 0.1);
        s.xAxis = XAxisKind::WallTime;
        plot.setPlotStyle(s);
        QCOMPARE(plot.customPlot()->graph(0)->data()->constBegin()->key, 2.0);
        QVERIFY(plot.readoutAt(6).contains(QStringLiteral("0:00:06")));
    }

    void panningPausesFollowAndDoubleClickResumes() {
        MetricPlot plot(QStringLiteral("loss"));
        plot.resize(500, 300);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.addSeries(QStringLiteral("r"), QStringLiteral("loss"), line(10, [](int i) { return 1.0 * i; }));
        plot.redrawNow();
        QVERIFY(plot.isFollowing());
        QCOMPARE(plot.customPlot()->xAxis->range().upper >= 10, true);
        QSignalSpy following(&plot, &MetricPlot::followingChanged);
        const QPoint centre = plot.customPlot()->axisRect()->rect().center();
        QTest::mousePress(plot.customPlot(), Qt::LeftButton, Qt::NoModifier, centre);
        QTest::mouseMove(plot.customPlot(), centre + QPoint(60, 0));
        QTest::mouseRelease(plot.customPlot(), Qt::LeftButton, Qt::NoModifier, centre + QPoint(60, 0));
        QVERIFY(!plot.isFollowing());
        QCOMPARE(following.count(), 1);
        const QCPRange panned = plot.customPlot()->xAxis->range();
        // New points do not move a view the user has moved.
        plot.appendPoints(QStringLiteral("r"), QStringLiteral("loss"), line(40, [](int i) { return 1.0 * i; }).mid(10));
        plot.redrawNow();
        QCOMPARE(plot.customPlot()->xAxis->range().upper, panned.upper);
        QTest::mouseDClick(plot.customPlot(), Qt::LeftButton, Qt::NoModifier, centre);
        QVERIFY(plot.isFollowing());
        plot.redrawNow();
        QVERIFY(plot.customPlot()->xAxis->range().upper >= 40);
    }

    void aLonePointIsShownFromZero() {
        // The first evaluation of a run is one point: it sits in a range from zero on both axes, not in the
        // middle of a ±0.5 band (which put macro-F1 0.08 between -0.4 and 0.6, at steps 49.6 to 50.4).
        MetricPlot plot(QStringLiteral("macro_f1"));
        plot.resize(400, 260);
        SeriesOptions o;
        o.markers = true;
        plot.appendPoints(QStringLiteral("r"), QStringLiteral("dev"), {MetricPoint{50, 0.5, 10, 0.08}}, o);
        plot.redrawNow();
        const QCPRange x = plot.customPlot()->xAxis->range(), y = plot.customPlot()->yAxis->range();
        QCOMPARE(x.lower, 0.0);
        QVERIFY(x.contains(50) && x.upper < 60);
        QCOMPARE(y.lower, 0.0);
        QVERIFY(y.contains(0.08) && y.upper < 0.2);
        // A second point at another step and value: the usual fit around the data.
        plot.appendPoints(QStringLiteral("r"), QStringLiteral("dev"), {MetricPoint{100, 1.0, 20, 0.3}}, o);
        plot.redrawNow();
        QCOMPARE(plot.customPlot()->xAxis->range().lower, 50.0);
        // The last point (an evaluation at the final step, drawn as a dot) is not cut by the frame.
        QVERIFY(plot.customPlot()->xAxis->range().upper > 100.5);
        QVERIFY(plot.customPlot()->yAxis->range().lower > 0.05);
    }

    void legendIsARowUnderTheTitle() {
        // The Train page's plots are small: the legend names the series in a row between the title and the axes,
        // never over the data, and only while there is more than one series.
        MetricPlot plot(QStringLiteral("accuracy"));
        plot.resize(420, 260);
        plot.show();
        QVERIFY(QTest::qWaitForWindowExposed(&plot));
        plot.addSeries(QStringLiteral("run-a"), QStringLiteral("acc"), line(60, [](int i) { return 1.0 - 0.9 * std::exp(-i / 12.0); }));
        plot.redrawNow();
        QCustomPlot* cp = plot.customPlot();
        cp->replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(!cp->legend->visible());
        const int tallAxes = cp->axisRect()->outerRect().height();
        plot.addSeries(QStringLiteral("run-b"), QStringLiteral("acc"), line(60, [](int i) { return 0.95 - 0.9 * std::exp(-i / 15.0); }));
        plot.redrawNow();
        cp->replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(cp->legend->visible());
        QCOMPARE(cp->legend->itemCount(), 2);
        const QRect legend = cp->legend->outerRect(), axes = cp->axisRect()->outerRect();
        QVERIFY2(!legend.intersects(cp->axisRect()->rect()), "the legend covers the data");
        QVERIFY(legend.bottom() <= axes.top() + 1);
        QVERIFY(legend.height() < 30);  // one row
        QVERIFY(axes.height() > tallAxes - 30);
        // Centred under the title, as wide as its two entries (they used to spread across the whole width).
        QVERIFY2(std::abs(legend.center().x() - cp->viewport().center().x()) <= 2,
                 qPrintable(QStringLiteral("legend %1..%2 in a plot %3 wide")
                                .arg(legend.left()).arg(legend.right()).arg(cp->viewport().width())));
        QVERIFY(legend.width() < cp->viewport().width() / 2);
        const QRect first = cp->legend->item(0)->outerRect(), second = cp->legend->item(1)->outerRect();
        QVERIFY(second.left() - first.right() < 30);
        // Back to one series: the row goes, the axes get their height back.
        plot.removeRun(QStringLiteral("run-b"));
        plot.redrawNow();
        cp->replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(!cp->legend->visible());
        QCOMPARE(cp->axisRect()->outerRect().height(), tallAxes);
    }

    void legendPlacerKeepsAnInsetLegendOffTheData() {
        // The benchmark and run-library plots keep their legend inside: it moves to the corner that hides the
        // least of the data, and stays in the preferred top-right corner while that one is clear.
        auto risingPlot = [](QCustomPlot& cp, bool rising) {
            cp.resize(420, 260);
            new LegendPlacer(&cp);
            for (int g = 0; g < 2; ++g) {
                QVector<double> k, v;
                for (int i = 0; i < 60; ++i) {
                    k << i;
                    const double up = (0.95 - 0.05 * g) - 0.9 * std::exp(-i / (12.0 + 3 * g));
                    v << (rising ? up : 1.0 - up);
                }
                cp.addGraph()->setData(k, v);
                cp.graph(g)->setName(QStringLiteral("series %1").arg(g));
            }
            cp.legend->setVisible(true);
            cp.xAxis->setRange(0, 59);
            cp.yAxis->setRange(0, 1);
            cp.show();
            cp.replot(QCustomPlot::rpImmediateRefresh);
        };
        QCustomPlot up;
        risingPlot(up, true);
        QVERIFY(QTest::qWaitForWindowExposed(&up));
        up.replot(QCustomPlot::rpImmediateRefresh);
        QCPLayoutInset* inset = up.axisRect()->insetLayout();
        const QRect topRight = LegendPlacer::cornerRect(inset->rect(), up.legend->outerRect().size(), Qt::AlignTop | Qt::AlignRight);
        QVERIFY(LegendPlacer::dataInside(up, topRight) > 0);  // the fixed corner would hide the newest points
        QVERIFY(inset->insetAlignment(0) != (Qt::AlignTop | Qt::AlignRight));
        QCOMPARE(LegendPlacer::cornerRect(inset->rect(), up.legend->outerRect().size(), inset->insetAlignment(0)),
                 up.legend->outerRect());  // where the inset layout put it
        QCOMPARE(LegendPlacer::dataInside(up, up.legend->outerRect()), 0);

        QCustomPlot down;
        risingPlot(down, false);
        QVERIFY(QTest::qWaitForWindowExposed(&down));
        down.replot(QCustomPlot::rpImmediateRefresh);
        QCOMPARE(down.axisRect()->insetLayout()->insetAlignment(0), Qt::AlignTop | Qt::AlignRight);
        QCOMPARE(LegendPlacer::dataInside(down, down.legend->outerRect()), 0);
        // Text in that corner (a benchmark's OOM mark at the longest length) counts too: the legend moves off it.
        auto* mark = new QCPItemText(&down);
        mark->position->setType(QCPItemPosition::ptAxisRectRatio);
        mark->position->setCoords(0.95, 0.08);
        mark->setText(QStringLiteral("OOM"));
        down.replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(down.axisRect()->insetLayout()->insetAlignment(0) != (Qt::AlignTop | Qt::AlignRight));
        const QRect markedCorner = LegendPlacer::cornerRect(down.axisRect()->insetLayout()->rect(),
                                                            down.legend->outerRect().size(), Qt::AlignTop | Qt::AlignRight);
        QVERIFY(LegendPlacer::dataInside(down, down.legend->outerRect()) < LegendPlacer::dataInside(down, markedCorner));
    }

    void svgLegendRowsWrapInsideThePicture() {
        // Four long series names in a 300-unit-wide picture: the legend's row wraps into lines that stay inside it,
        // and the axis rectangle starts below them.
        MetricPlot plot(QStringLiteral("loss"));
        plot.resize(420, 260);
        for (int r = 0; r < 4; ++r)
            plot.addSeries(QStringLiteral("a-rather-long-run-name-%1").arg(r), QStringLiteral("loss"),
                           line(10, [](int i) { return 1.0 / (i + 1); }));
        plot.redrawNow();
        plot.customPlot()->replot(QCustomPlot::rpImmediateRefresh);
        SvgExportOptions options;
        options.size = QSize(300, 240);
        const QByteArray svg = plotToSvg(*plot.customPlot(), options);
        const double tickFs = options.fontSize - 2;  // the legend's font size in the export
        QXmlStreamReader xml(svg);
        QSet<double> lineYs;
        int entries = 0;
        double frameTop = -1, lowestEntry = 0;
        bool numbers = true;  // every coordinate read parsed as a number
        auto coordinate = [&](const QXmlStreamAttributes& a, const QString& name) {
            bool ok = false;
            const double v = a.value(name).toDouble(&ok);
            numbers = numbers && ok;
            return v;
        };
        while (!xml.atEnd()) {
            if (xml.readNext() != QXmlStreamReader::StartElement) continue;
            const auto a = xml.attributes();
            const QString cls = a.value(QStringLiteral("class")).toString();
            if (xml.name() == QLatin1String("rect") && cls == QLatin1String("frame"))
                frameTop = coordinate(a, QStringLiteral("y"));
            if (xml.name() == QLatin1String("text") && cls == QLatin1String("legend-entry")) {
                ++entries;
                const double x = coordinate(a, QStringLiteral("x"));
                const double y = coordinate(a, QStringLiteral("y"));
                lineYs.insert(y);
                lowestEntry = std::max(lowestEntry, y);
                QVERIFY(x >= 0);
                const QString t = xml.readElementText();
                // The export reckons 0.62 em a character.
                QVERIFY2(x + 0.62 * tickFs * t.size() <= options.size.width() + 1, qPrintable(t));
            }
        }
        QVERIFY(!xml.hasError());
        QVERIFY2(numbers, "a frame or legend coordinate is not a number");
        QCOMPARE(entries, 4);
        QVERIFY(lineYs.size() >= 2);
        QVERIFY2(frameTop >= 0, "no frame rectangle in the export");
        QVERIFY(frameTop > lowestEntry);
    }

    void exportsCsvPngAndPdf() {
        QTemporaryDir tmp;
        MetricPlot plot(QStringLiteral("accuracy"));
        plot.resize(400, 260);
        plot.show();
        plot.addSeries(QStringLiteral("run,1"), QStringLiteral("train"), line(3, [](int i) { return 0.25 * i; }));
        const QString csv = tmp.filePath(QStringLiteral("a.csv"));
        QVERIFY(plot.exportCsv(csv));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> rows = f.readAll().split('\n');
        QCOMPARE(rows.value(0), QByteArray("run,metric,step,epoch,seconds,value"));
        QCOMPARE(rows.value(1), QByteArray("\"run,1\",train,1,0.1,2,0"));
        QCOMPARE(rows.value(3), QByteArray("\"run,1\",train,3,0.3,6,0.5"));
        for (const char* suffix : {"png", "pdf"}) {
            const QString path = tmp.filePath(QStringLiteral("a.") + QLatin1String(suffix));
            QString error;
            QVERIFY2(plot.exportImage(path, &error), qPrintable(error));
            QVERIFY(QFileInfo(path).size() > 1000);
        }
        QImage png(tmp.filePath(QStringLiteral("a.png")));
        QVERIFY(ponet::gui::test::distinctColours(png) > 8);
        QString error;
        QVERIFY(!plot.exportImage(tmp.filePath(QStringLiteral("a.gif")), &error));
        QVERIFY2(error.contains(QStringLiteral(".svg")), qPrintable(error));

        // The controls row writes every plot's rows under one header.
        MetricPlot other(QStringLiteral("loss"));
        other.addSeries(QStringLiteral("r"), QStringLiteral("train"), line(2, [](int) { return 1.0; }));
        PlotControls controls;
        controls.setPlots({&plot, &other});
        const QString all = tmp.filePath(QStringLiteral("all.csv"));
        QVERIFY(controls.exportCsv(all));
        QFile g(all);
        QVERIFY(g.open(QIODevice::ReadOnly));
        const QList<QByteArray> allRows = g.readAll().trimmed().split('\n');
        QCOMPARE(allRows.size(), 1 + 3 + 2);
        QVERIFY(allRows.value(4).startsWith("\"loss\",r,train,1,"));
    }

    // The SVG is written from the plot's content: one polyline per visible graph with its points, the axes'
    // tick labels, the legend and the title; log-y maps values logarithmically.
    void exportsSvgFromThePlotsContent() {
        QTemporaryDir tmp;
        MetricPlot plot(QStringLiteral("MLM loss"));
        plot.resize(640, 360);
        plot.show();
        plot.addSeries(QStringLiteral("run"), QStringLiteral("train"), line(30, [](int i) { return 2000.0 / ((1 + i) * (1 + i)); }));
        SeriesOptions eval;
        eval.markers = true;
        plot.addSeries(QStringLiteral("run"), QStringLiteral("eval"), line(5, [](int i) { return 1500.0 / ((1 + i) * (1 + i)); }), eval);
        PlotStyle style;
        style.logY = true;
        plot.setPlotStyle(style);
        plot.redrawNow();
        QCustomPlot* cp = plot.customPlot();
        cp->replot();

        const QString path = tmp.filePath(QStringLiteral("loss.svg"));
        QString error;
        QVERIFY2(plot.exportImage(path, &error), qPrintable(error));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&f);
        QVector<int> polylinePoints;
        QStringList xTicks, yTicks, legend, titles;
        QVector<double> yOfTick;
        while (!xml.atEnd()) {
            if (xml.readNext() != QXmlStreamReader::StartElement) continue;
            const QString cls = xml.attributes().value(QStringLiteral("class")).toString();
            if (xml.name() == QLatin1String("polyline") && cls == QLatin1String("graph")) {
                const QString pts = xml.attributes().value(QStringLiteral("points")).toString();
                polylinePoints << static_cast<int>(pts.split(QLatin1Char(' '), Qt::SkipEmptyParts).size());
            } else if (xml.name() == QLatin1String("text")) {
                const double ty = xml.attributes().value(QStringLiteral("y")).toDouble();
                const QString t = xml.readElementText();
                if (cls == QLatin1String("tick x")) xTicks << t;
                if (cls == QLatin1String("tick y")) {
                    yTicks << t;
                    yOfTick << ty;
                }
                if (cls == QLatin1String("legend-entry")) legend << t;
                if (cls == QLatin1String("title")) titles << t;
            }
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        // The picture for the docs (converted to PNG by scripts/screenshots.sh where rsvg-convert exists).
        QFile::remove(ponet::gui::test::screenshotPath(QStringLiteral("plot-export.svg")));
        QFile::copy(path, ponet::gui::test::screenshotPath(QStringLiteral("plot-export.svg")));

        QVector<int> expected;
        for (int i = 0; i < cp->graphCount(); ++i)
            if (cp->graph(i)->visible()) expected << cp->graph(i)->dataCount();
        QCOMPARE(polylinePoints, expected);
        QVERIFY(expected.contains(30));
        QVERIFY(expected.contains(5));

        auto inRange = [](QCPAxis* axis) {
            QStringList labels;
            const QVector<double> v = axis->tickVector();
            const QVector<QString> l = axis->tickVectorLabels();
            for (int i = 0; i < v.size(); ++i)
                if (axis->range().contains(v[i])) labels << l[i];
            return labels;
        };
        QCOMPARE(xTicks, inRange(cp->xAxis));
        QCOMPARE(yTicks, inRange(cp->yAxis));
        QVERIFY(yTicks.size() >= 2);
        // Log scale: successive decades (10 → 100 → 1000) lie equally far apart.
        QVERIFY2(yTicks.size() >= 3, qPrintable(yTicks.join(QLatin1Char(' '))));
        QVERIFY(yOfTick[0] - yOfTick[1] > 10);
        QVERIFY(std::abs((yOfTick[0] - yOfTick[1]) - (yOfTick[1] - yOfTick[2])) < 0.5);
        QCOMPARE(titles, QStringList{QStringLiteral("MLM loss")});
        QCOMPARE(legend.size(), cp->legend->itemCount());
        QVERIFY(legend.contains(QStringLiteral("eval")));
    }
};

QTEST_MAIN(TestMetricPlot)
#include "test_gui_metric_plot.moc"
