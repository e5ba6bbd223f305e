// Benchmark (not a test): how long the explorer takes to inspect a 16,384-token document with a `small`-shaped
// PoNet (4 layers, hidden 256, 4 heads, random weights) on the CPU, and how long a redraw takes after a zoom or
// a pan once the result is there — every track view of the page plus the GA heatmap. Prints the timings;
// docs/PERFORMANCE.md records them.
//
//   QT_QPA_PLATFORM=offscreen build/tests/bench_explorer [TOKENS] [STEPS]
#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>

#include <algorithm>
#include <memory>
#include <cstdio>
#include <string>
#include <vector>

#include "core/inspect/inspection.h"
#include "core/util/runtime.h"
#include "widgets/qcp.h"
#include "widgets/token_track_view.h"

namespace {

std::vector<std::string> vocabulary() {
    std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."};
    for (int i = 0; i < 250; ++i) v.push_back("w" + std::to_string(i));
    return v;
}

// Sentences of 8 to 30 pseudo-words: about 16,384 tokens need ~900 sentences.
QString document(int tokens) {
    QString text;
    unsigned state = 12345;
    int n = 0;
    while (n < tokens) {
        state = state * 1103515245u + 12345u;
        const int len = 8 + static_cast<int>((state >> 16) % 23);
        QString sentence = QStringLiteral("W%1").arg((state >> 8) % 250);
        for (int i = 1; i < len; ++i) {
            state = state * 1103515245u + 12345u;
            sentence += QStringLiteral(" w%1").arg((state >> 16) % 250);
        }
        text += sentence + QStringLiteral(". ");
        n += len + 1;
    }
    return text;
}

struct Stats {
    double median, p95, max;
};
Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 95 / 100)], v.back()};
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const int tokens = argc > 1 ? std::atoi(argv[1]) : 16384;
    const int steps = argc > 2 ? std::atoi(argv[2]) : 60;
    ponet::init_runtime();

    QTemporaryDir tmp;
    const auto vocab = vocabulary();
    ponet::ModelConfig c;
    c.architectures = {"PoNetModel"};
    c.vocab_size = static_cast<int64_t>(vocab.size());
    c.hidden_size = 256;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.intermediate_size = 1024;
    c.max_position_embeddings = tokens;
    c.pad_token_id = 0;
    c.unk_token_id = 1;
    c.cls_token_id = 2;
    c.sep_token_id = 3;
    c.mask_token_id = 4;
    const std::string model = tmp.filePath(QStringLiteral("small")).toStdString();
    ponet::write_random_model(model, c, vocab, 1, 0.05);

    QElapsedTimer clock;
    clock.start();
    auto r = std::make_shared<ponet::Inspection>(ponet::inspect_document(model, document(tokens).toStdString(), "bench"));
    const double inspectMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    std::printf("inspection: %lld tokens, %lld segments, %lld layers x %lld features: %.0f ms (CPU, %s)\n",
                static_cast<long long>(r->length), static_cast<long long>(r->segments),
                static_cast<long long>(r->layers), static_cast<long long>(r->hidden), inspectMs,
                r->note.empty() ? "whole document" : r->note.c_str());

    // The four track views of the page (GA, SMP, LMP, shares) at the width they have in a 1280×800 window, sharing
    // one viewport as on the page, and the GA heatmap.
    ponet::gui::TokenViewport vp;
    auto* viewport = &vp;
    using Track = ponet::gui::TokenTrackView::Track;
    const QList<QList<Track>> trackSets = {{Track::Text, Track::GaLayer, Track::GaLayers},
                                           {Track::Text, Track::SmpWins},
                                           {Track::Text, Track::Lmp},
                                           {Track::Text, Track::Shares}};
    std::vector<std::unique_ptr<ponet::gui::TokenTrackView>> owned;
    QList<ponet::gui::TokenTrackView*> views;
    for (const auto& tracks : trackSets) {
        owned.push_back(std::make_unique<ponet::gui::TokenTrackView>(viewport));
        auto* v = owned.back().get();
        v->setTracks(tracks);
        v->setInspection(r);
        v->setShowSmpSources(true);
        v->resize(1200, v->sizeHint().height());
        views << v;
    }
    viewport->setLength(r->length);
    viewport->setWidth(1200 - ponet::gui::TokenTrackView::kLabelWidth - 4);
    viewport->setSelected(r->length / 2);
    QCustomPlot plot;
    plot.resize(1000, 220);
    auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
    map->data()->setSize(static_cast<int>(r->length), static_cast<int>(r->layers));
    map->data()->setRange(QCPRange(0, static_cast<double>(r->length - 1)), QCPRange(0, static_cast<double>(r->layers - 1)));
    for (int64_t l = 0; l < r->layers; ++l)
        for (int64_t t = 0; t < r->length; ++t)
            map->data()->setCell(static_cast<int>(t), static_cast<int>(l), r->ga_mean(l, t) * static_cast<double>(r->length));
    map->setGradient(QCPColorGradient::gpHot);
    map->rescaleDataRange();
    plot.yAxis->setRange(-0.5, static_cast<double>(r->layers) - 0.5);

    auto redraw = [&] {
        QElapsedTimer t;
        t.start();
        for (auto* v : views) {
            QImage img(v->size(), QImage::Format_RGB32);
            QPainter p(&img);
            v->render(&p);
        }
        plot.xAxis->setRange(viewport->first() - 0.5, viewport->first() + viewport->visibleTokens() - 0.5);
        plot.replot(QCustomPlot::rpImmediateRefresh);
        QImage img(plot.size(), QImage::Format_RGB32);
        QPainter p(&img);
        plot.render(&p);
        return static_cast<double>(t.nsecsElapsed()) / 1e6;
    };
    redraw();  // warm-up
    std::vector<double> zoom, pan;
    viewport->fit();
    for (int i = 0; i < steps; ++i) {  // zoom in from the whole document to single tokens and back
        viewport->zoomBy(i < steps / 2 ? 1.25 : 0.8, static_cast<double>(r->length) * 0.37);
        zoom.push_back(redraw());
    }
    viewport->setView(0, 3.0);
    for (int i = 0; i < steps; ++i) {  // pan at an intermediate zoom (several tokens per pixel ... 3 px a token)
        viewport->panBy(viewport->visibleTokens() * 0.2);
        pan.push_back(redraw());
    }
    viewport->setView(0, 0.08);
    for (int i = 0; i < steps; ++i) {  // pan zoomed out (about 13 tokens per pixel column)
        viewport->panBy(viewport->visibleTokens() * 0.05);
        pan.push_back(redraw());
    }
    const Stats z = stats(zoom), pn = stats(pan);
    std::printf("redraw after zoom (4 track views + heatmap, 1200 px): median %.1f ms, p95 %.1f ms, max %.1f ms (%zu)\n",
                z.median, z.p95, z.max, zoom.size());
    std::printf("redraw after pan  (4 track views + heatmap, 1200 px): median %.1f ms, p95 %.1f ms, max %.1f ms (%zu)\n",
                pn.median, pn.p95, pn.max, pan.size());
    return 0;
}
