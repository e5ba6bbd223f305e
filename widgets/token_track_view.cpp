#include "widgets/token_track_view.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace ponet::gui {

namespace explorer_colors {

QColor branch(ponet::Branch b) {
    switch (b) {
        case ponet::Branch::Global: return QColor(0xc4, 0x3e, 0x55);   // red: the whole document
        case ponet::Branch::Segment: return QColor(0x1f, 0x7a, 0x8c);  // teal: the sentence
        case ponet::Branch::Local: return QColor(0xe9, 0xa8, 0x3a);    // amber: the neighbours
    }
    return Qt::gray;
}

QColor lmp(ponet::LmpSource s) {
    switch (s) {
        case ponet::LmpSource::Left: return QColor(0x2f, 0x6f, 0xd0);
        case ponet::LmpSource::Self: return QColor(0xbf, 0xbf, 0xbf);
        case ponet::LmpSource::Right: return QColor(0xe2, 0x6a, 0x1b);
    }
    return Qt::gray;
}

namespace {
QColor ramp(double t, const QColor* stops, int n) {
    t = std::clamp(t, 0.0, 1.0) * (n - 1);
    const int i = std::min(n - 2, static_cast<int>(t));
    const double f = t - i;
    const QColor& a = stops[i];
    const QColor& b = stops[i + 1];
    return QColor::fromRgbF(static_cast<float>(a.redF() + f * (b.redF() - a.redF())),
                            static_cast<float>(a.greenF() + f * (b.greenF() - a.greenF())),
                            static_cast<float>(a.blueF() + f * (b.blueF() - a.blueF())));
}
}  // namespace

QColor heat(double t) {
    static const QColor stops[] = {QColor(0xfb, 0xfb, 0xf7), QColor(0xfc, 0xe1, 0x6b), QColor(0xf2, 0x84, 0x2c),
                                   QColor(0xc2, 0x22, 0x3a), QColor(0x4a, 0x0b, 0x52)};
    return ramp(t, stops, 5);
}

QColor wins(double t) {
    static const QColor stops[] = {QColor(0xf7, 0xfb, 0xf4), QColor(0x9f, 0xd4, 0x8c), QColor(0x2a, 0x8a, 0x45),
                                   QColor(0x0b, 0x3d, 0x1c)};
    return ramp(t, stops, 4);
}

}  // namespace explorer_colors

// ---------------------------------------------------------------------------------------------------------------

void TokenViewport::setLength(qint64 tokens) {
    length_ = std::max<qint64>(0, tokens);
    selected_ = -1;
    first_ = 0;
    ppt_ = minPpt();
    Q_EMIT changed();
}

void TokenViewport::setWidth(int pixels) {
    if (pixels <= 0 || pixels == width_) return;
    const bool fitted = ppt_ <= minPpt() + 1e-9;
    width_ = pixels;
    setView(first_, fitted ? 0.0 : ppt_);
}

double TokenViewport::minPpt() const {
    if (length_ <= 0) return 1.0;
    return std::min(kMaxPixelsPerToken, static_cast<double>(width_) / static_cast<double>(length_));
}

void TokenViewport::setView(double first, double pixelsPerToken) {
    const double ppt = std::clamp(pixelsPerToken, minPpt(), kMaxPixelsPerToken);
    const double maxFirst = std::max(0.0, static_cast<double>(length_) - width_ / ppt);
    const double f = std::clamp(first, 0.0, maxFirst);
    if (f == first_ && ppt == ppt_) return;
    first_ = f;
    ppt_ = ppt;
    Q_EMIT changed();
}

void TokenViewport::zoomBy(double factor, double anchorToken) {
    const double offsetPx = (anchorToken - first_) * ppt_;
    const double ppt = std::clamp(ppt_ * factor, minPpt(), kMaxPixelsPerToken);
    setView(anchorToken - offsetPx / ppt, ppt);
}

void TokenViewport::centerOn(qint64 token, double pixelsPerToken) {
    const double ppt = pixelsPerToken > 0 ? pixelsPerToken : ppt_;
    setView(static_cast<double>(token) + 0.5 - (width_ / ppt) / 2.0, ppt);
}

void TokenViewport::setSelected(qint64 token) {
    if (token >= length_) token = -1;
    if (token == selected_) return;
    selected_ = token;
    Q_EMIT selectionChanged(token);
}

// ---------------------------------------------------------------------------------------------------------------

TokenTrackView::TokenTrackView(TokenViewport* viewport, QWidget* parent)
    : QWidget(parent), viewport_(viewport), scroll_(new QScrollBar(Qt::Horizontal, this)) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(false);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    connect(viewport_, &TokenViewport::changed, this, [this] {
        syncScrollBar();
        update();
    });
    connect(viewport_, &TokenViewport::selectionChanged, this, [this] { update(); });
    connect(scroll_, &QScrollBar::valueChanged, this, [this](int v) {
        if (!syncing_) viewport_->setView(v, viewport_->pixelsPerToken());
    });
}

void TokenTrackView::setTracks(const QList<Track>& tracks) {
    tracks_ = tracks;
    updateGeometry();
    update();
}

void TokenTrackView::setInspection(const InspectionPtr& inspection) {
    inspection_ = inspection;
    gaMax_.clear();
    if (inspection_) {
        const auto& r = *inspection_;
        gaMax_.assign(static_cast<size_t>(r.layers * (r.heads + 1)), 1e-30f);
        for (int64_t l = 0; l < r.layers; ++l)
            for (int64_t t = 0; t < r.length; ++t) {
                float& m = gaMax_[static_cast<size_t>(l * (r.heads + 1))];
                m = std::max(m, r.ga_mean(l, t));
                for (int64_t h = 0; h < r.heads; ++h) {
                    float& mh = gaMax_[static_cast<size_t>(l * (r.heads + 1) + h + 1)];
                    mh = std::max(mh, r.ga_at(l, h, t));
                }
            }
        layer_ = std::clamp<int>(layer_, 0, static_cast<int>(r.layers) - 1);
        if (head_ >= r.heads) head_ = -1;
    }
    hits_.clear();
    hitList_.clear();
    syncScrollBar();
    updateGeometry();
    update();
}

void TokenTrackView::setLayer(int layer) {
    layer_ = layer;
    update();
}
void TokenTrackView::setHead(int head) {
    head_ = head;
    update();
}
void TokenTrackView::setSearchHits(const QList<qint64>& hits) {
    hitList_ = hits;
    std::sort(hitList_.begin(), hitList_.end());
    hits_ = QSet<qint64>(hits.begin(), hits.end());
    update();
}
void TokenTrackView::setShowSmpSources(bool on) {
    showSmpSources_ = on;
    update();
}

int TokenTrackView::tokenAreaWidth() const {
    return std::max(1, width() - kLabelWidth - 4);
}

QList<TokenTrackView::Row> TokenTrackView::layoutRows() const {
    QList<Row> rows;
    const int layers = inspection_ ? static_cast<int>(inspection_->layers) : 0;
    int y = 4;
    for (Track t : tracks_) {
        switch (t) {
            case Track::Text: rows.append({t, -1, y, 34, tr("tokens")}); y += 34; break;
            case Track::GaLayer: rows.append({t, -1, y, 30, tr("GA")}); y += 30; break;
            case Track::GaLayers:
            case Track::SmpWins:
            case Track::Lmp:
            case Track::Shares: {
                const int h = t == Track::Shares ? 30 : 20;
                const QString name = t == Track::GaLayers ? tr("GA") : t == Track::SmpWins ? tr("SMP") : t == Track::Lmp ? tr("LMP") : tr("shares");
                for (int l = 0; l < layers; ++l) {
                    rows.append({t, l, y, h, l == 0 ? tr("%1 · layer %2").arg(name).arg(l) : tr("layer %1").arg(l)});
                    y += h + 1;
                }
                break;
            }
        }
        y += 6;
    }
    return rows;
}

QSize TokenTrackView::sizeHint() const {
    const auto rows = layoutRows();
    const int h = rows.isEmpty() ? 60 : rows.last().top + rows.last().height + 8;
    return {800, h + scroll_->sizeHint().height()};
}
QSize TokenTrackView::minimumSizeHint() const {
    return {300, sizeHint().height()};
}

void TokenTrackView::resizeEvent(QResizeEvent*) {
    const int sh = scroll_->sizeHint().height();
    scroll_->setGeometry(kLabelWidth, height() - sh, width() - kLabelWidth, sh);
    // Only a view on screen knows the real width (hidden tabs get arbitrary sizes).
    if (drivesViewport_ && isVisible()) viewport_->setWidth(tokenAreaWidth());
    syncScrollBar();
}

void TokenTrackView::showEvent(QShowEvent*) {
    if (drivesViewport_) viewport_->setWidth(tokenAreaWidth());
    syncScrollBar();
}

void TokenTrackView::syncScrollBar() {
    syncing_ = true;
    const qint64 len = viewport_->length();
    const double visible = tokenAreaWidth() / viewport_->pixelsPerToken();
    scroll_->setRange(0, static_cast<int>(std::max<double>(0.0, std::ceil(len - visible))));
    scroll_->setPageStep(std::max(1, static_cast<int>(visible)));
    scroll_->setSingleStep(std::max(1, static_cast<int>(visible / 20)));
    scroll_->setValue(static_cast<int>(std::lround(viewport_->first())));
    syncing_ = false;
}

qint64 TokenTrackView::tokenAt(int x) const {
    if (!inspection_ || x < kLabelWidth) return -1;
    const double t = viewport_->first() + (x - kLabelWidth) / viewport_->pixelsPerToken();
    if (t < 0 || t >= static_cast<double>(inspection_->length)) return -1;
    return static_cast<qint64>(t);
}

void TokenTrackView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    const auto rows = layoutRows();
    QFont small = font();
    small.setPointSizeF(std::max(7.0, small.pointSizeF() - 1));
    p.setFont(small);
    for (const Row& row : rows) {
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QRect(4, row.top, kLabelWidth - 8, row.height), Qt::AlignRight | Qt::AlignVCenter, row.label);
    }
    if (!inspection_ || inspection_->length == 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(kLabelWidth, 0, 0, -scroll_->height()), Qt::AlignCenter,
                   tr("Open a document and a model, then press Inspect."));
        return;
    }
    const auto& r = *inspection_;
    const int W = tokenAreaWidth();
    const double first = viewport_->first(), ppt = viewport_->pixelsPerToken();
    const qint64 L = r.length;

    // The tokens under each pixel column: [a, b] (a > b: none).
    std::vector<qint64> colA(static_cast<size_t>(W)), colB(static_cast<size_t>(W));
    for (int px = 0; px < W; ++px) {
        const double t0 = first + px / ppt, t1 = first + (px + 1) / ppt;
        qint64 a = static_cast<qint64>(std::floor(t0));
        qint64 b = static_cast<qint64>(std::ceil(t1)) - 1;
        b = std::max(a, b);
        colA[static_cast<size_t>(px)] = std::clamp<qint64>(a, 0, L);
        colB[static_cast<size_t>(px)] = std::min<qint64>(b, L - 1);
    }
    const int x0 = kLabelWidth;
    const QRgb empty = palette().color(QPalette::Window).rgb();

    for (const Row& row : rows) {
        QImage img(W, row.track == Track::Shares || row.track == Track::Text ? row.height : 1, QImage::Format_RGB32);
        const int h = img.height();
        const int l = row.layer >= 0 ? row.layer : layer_;
        for (int px = 0; px < W; ++px) {
            const qint64 a = colA[static_cast<size_t>(px)], b = colB[static_cast<size_t>(px)];
            auto setColumn = [&](QRgb c) {
                for (int y = 0; y < h; ++y) reinterpret_cast<QRgb*>(img.scanLine(y))[px] = c;
            };
            if (a > b) {
                setColumn(empty);
                continue;
            }
            switch (row.track) {
                case Track::Text: {
                    const int seg = r.segment_of[static_cast<size_t>(a)];
                    bool special = false, boundary = false;
                    for (qint64 t = a; t <= b; ++t) {
                        special = special || r.special[static_cast<size_t>(t)];
                        if (t > 0 && r.segment_of[static_cast<size_t>(t)] != r.segment_of[static_cast<size_t>(t - 1)] &&
                            static_cast<double>(t) >= first + px / ppt)
                            boundary = true;
                    }
                    QColor c = special ? QColor(0xf6, 0xd5, 0xd5) : (seg % 2 ? QColor(0xe4, 0xec, 0xf7) : QColor(0xf6, 0xf3, 0xe8));
                    if (boundary) c = QColor(0x3d, 0x4e, 0x73);
                    setColumn(c.rgb());
                    break;
                }
                case Track::GaLayer:
                case Track::GaLayers: {
                    const int head = row.track == Track::GaLayer ? head_ : -1;
                    float m = 0;
                    for (qint64 t = a; t <= b; ++t) m = std::max(m, head < 0 ? r.ga_mean(l, t) : r.ga_at(l, head, t));
                    // α × L on a log scale shared by all layers: uniform (or less) is white, the document's
                    // heaviest weight is the darkest colour; a layer that spreads evenly stays pale.
                    float top = 0;
                    for (int64_t k = 0; k < r.layers; ++k) top = std::max(top, gaMax_[static_cast<size_t>(k * (r.heads + 1) + head + 1)]);
                    const double v = static_cast<double>(m) * static_cast<double>(L);
                    const double scale = std::log(std::max(1.0001, static_cast<double>(top) * static_cast<double>(L)));
                    setColumn(explorer_colors::heat(v <= 1.0 ? 0.0 : std::log(v) / scale).rgb());
                    break;
                }
                case Track::SmpWins: {
                    int32_t m = 0;
                    for (qint64 t = a; t <= b; ++t) m = std::max(m, r.smp_wins_at(l, t));
                    setColumn(explorer_colors::wins(std::sqrt(static_cast<double>(m) / r.hidden)).rgb());
                    break;
                }
                case Track::Lmp: {
                    double f[3] = {0, 0, 0};
                    for (qint64 t = a; t <= b; ++t)
                        for (int s = 0; s < 3; ++s) f[s] += r.lmp_count(l, t, static_cast<ponet::LmpSource>(s));
                    const double sum = f[0] + f[1] + f[2];
                    double rr = 0, gg = 0, bb = 0;
                    for (int s = 0; s < 3; ++s) {
                        // Sharpen: the majority source dominates the colour, a split column looks mixed.
                        const double w = sum > 0 ? std::pow(f[s] / sum, 2.0) : 1.0 / 3.0;
                        const QColor c = explorer_colors::lmp(static_cast<ponet::LmpSource>(s));
                        rr += w * c.redF();
                        gg += w * c.greenF();
                        bb += w * c.blueF();
                    }
                    double ws = 0;
                    for (int s = 0; s < 3; ++s) ws += sum > 0 ? std::pow(f[s] / sum, 2.0) : 1.0 / 3.0;
                    setColumn(QColor::fromRgbF(static_cast<float>(rr / ws), static_cast<float>(gg / ws), static_cast<float>(bb / ws)).rgb());
                    break;
                }
                case Track::Shares: {
                    double s[3] = {0, 0, 0};
                    for (qint64 t = a; t <= b; ++t)
                        for (int k = 0; k < 3; ++k) s[k] += r.share(l, t, static_cast<ponet::Branch>(k));
                    const double n = static_cast<double>(b - a + 1);
                    const int hg = static_cast<int>(std::lround(s[0] / n * h));
                    const int hs = static_cast<int>(std::lround(s[1] / n * h));
                    const QRgb cg = explorer_colors::branch(ponet::Branch::Global).rgb();
                    const QRgb cs = explorer_colors::branch(ponet::Branch::Segment).rgb();
                    const QRgb cl = explorer_colors::branch(ponet::Branch::Local).rgb();
                    for (int y = 0; y < h; ++y)
                        reinterpret_cast<QRgb*>(img.scanLine(y))[px] = y < hg ? cg : y < hg + hs ? cs : cl;
                    break;
                }
            }
        }
        p.drawImage(QRect(x0, row.top, W, row.height), img);

        if (row.track == Track::Text) {
            // Search hits: marks along the top edge.
            if (!hitList_.isEmpty()) {
                for (int px = 0; px < W; ++px) {
                    const qint64 a = colA[static_cast<size_t>(px)], b = colB[static_cast<size_t>(px)];
                    auto it = std::lower_bound(hitList_.begin(), hitList_.end(), a);
                    if (it != hitList_.end() && *it <= b) p.fillRect(x0 + px, row.top, 1, 6, QColor(0xff, 0xb0, 0x00));
                }
            }
            // The tokens themselves once there is room.
            if (ppt >= 6) {
                const qint64 t0 = static_cast<qint64>(first), t1 = std::min<qint64>(L - 1, static_cast<qint64>(first + W / ppt) + 1);
                p.setPen(QColor(0, 0, 0, 40));
                for (qint64 t = t0; t <= t1; ++t) {
                    const int x = x0 + static_cast<int>(std::lround((static_cast<double>(t) - first) * ppt));
                    if (x >= x0) p.drawLine(x, row.top + 22, x, row.top + row.height - 1);
                }
                if (ppt >= 16) {
                    QFont f = small;
                    const QFontMetrics fm(f);
                    for (qint64 t = t0; t <= t1; ++t) {
                        const int x = x0 + static_cast<int>(std::lround((static_cast<double>(t) - first) * ppt));
                        const int w = static_cast<int>(ppt);
                        if (x + w <= x0 || x >= x0 + W) continue;
                        const QString text = QString::fromStdString(r.tokens[static_cast<size_t>(t)]);
                        f.setBold(r.special[static_cast<size_t>(t)] != 0);
                        p.setFont(f);
                        p.setPen(hits_.contains(t) ? QColor(0xa0, 0x50, 0x00) : QColor(0x20, 0x20, 0x28));
                        p.save();
                        p.setClipRect(QRect(std::max(x, x0), row.top, w, row.height).intersected(QRect(x0, row.top, W, row.height)));
                        p.drawText(QRect(x + 1, row.top + 4, w - 2, 18), Qt::AlignCenter, fm.elidedText(text, Qt::ElideRight, w - 2));
                        p.restore();
                    }
                    p.setFont(small);
                    // Segment numbers under the first token of each segment.
                    p.setPen(QColor(0x55, 0x5f, 0x75));
                    for (qint64 t = t0; t <= t1; ++t)
                        if (t == 0 || r.segment_of[static_cast<size_t>(t)] != r.segment_of[static_cast<size_t>(t - 1)]) {
                            const int x = x0 + static_cast<int>(std::lround((static_cast<double>(t) - first) * ppt));
                            if (x >= x0)
                                p.drawText(QRect(x + 3, row.top + 21, 60, 12), Qt::AlignLeft | Qt::AlignVCenter,
                                           QStringLiteral("§%1").arg(r.segment_of[static_cast<size_t>(t)]));
                        }
                }
            }
        }
    }

    // The selected token, across every row, and (SMP) the tokens its SMP values came from.
    const qint64 sel = viewport_->selected();
    if (sel >= 0 && sel < L && !rows.isEmpty()) {
        const int top = rows.first().top, bottom = rows.last().top + rows.last().height;
        auto spanOf = [&](qint64 t) {
            const double xa = (static_cast<double>(t) - first) * ppt, xb = xa + ppt;
            int a = x0 + static_cast<int>(std::floor(xa)), b = x0 + static_cast<int>(std::ceil(xb));
            if (b - a < 3) a -= 1, b = a + 3;
            return std::make_pair(a, b);
        };
        p.setClipRect(QRect(x0, 0, W, height()));
        if (showSmpSources_) {
            for (const Row& row : rows) {
                if (row.track != Track::SmpWins) continue;
                p.setPen(QPen(QColor(0x8e, 0x1b, 0x9c), 2));
                p.setBrush(Qt::NoBrush);
                for (const auto& src : r.smp_sources(row.layer, sel)) {
                    const auto [a, b] = spanOf(src.token);
                    p.drawRect(QRect(a, row.top, b - a, row.height - 1));
                }
            }
        }
        const auto [a, b] = spanOf(sel);
        p.fillRect(QRect(a, top, b - a, bottom - top), QColor(0x20, 0x60, 0xff, 50));
        p.setPen(QPen(QColor(0x20, 0x50, 0xd0), 1));
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRect(a, top, b - a - 1, bottom - top - 1));
        p.setClipping(false);
    }
    if (hasFocus()) {
        p.setPen(QPen(palette().color(QPalette::Highlight), 1));
        p.drawRect(rect().adjusted(0, 0, -1, -1));
    }
}

QString TokenTrackView::describeToken(qint64 t) const {
    if (!inspection_ || t < 0 || t >= inspection_->length) return {};
    const auto& r = *inspection_;
    const int l = layer_;
    const auto ut = static_cast<size_t>(t);
    QString s = tr("#%1 “%2” · segment %3").arg(t).arg(QString::fromStdString(r.tokens[ut])).arg(r.segment_of[ut]);
    s += QLatin1Char('\n') + tr("layer %1 · GA %2 (%3× uniform)")
                                 .arg(l)
                                 .arg(r.ga_mean(l, t), 0, 'g', 3)
                                 .arg(r.ga_mean(l, t) * static_cast<double>(r.length), 0, 'f', 2);
    s += QLatin1Char('\n') + tr("SMP: won %1 of %2 features").arg(r.smp_wins_at(l, t)).arg(r.hidden);
    s += QLatin1Char('\n') + tr("LMP: left %1 · self %2 · right %3")
                                 .arg(r.lmp_count(l, t, ponet::LmpSource::Left))
                                 .arg(r.lmp_count(l, t, ponet::LmpSource::Self))
                                 .arg(r.lmp_count(l, t, ponet::LmpSource::Right));
    s += QLatin1Char('\n') + tr("shares: global %1% · segment %2% · local %3%")
                                 .arg(100 * r.share(l, t, ponet::Branch::Global), 0, 'f', 0)
                                 .arg(100 * r.share(l, t, ponet::Branch::Segment), 0, 'f', 0)
                                 .arg(100 * r.share(l, t, ponet::Branch::Local), 0, 'f', 0);
    return s;
}

bool TokenTrackView::event(QEvent* e) {
    if (e->type() == QEvent::ToolTip) {
        auto* he = static_cast<QHelpEvent*>(e);
        const QString text = describeToken(tokenAt(he->pos().x()));
        if (text.isEmpty()) QToolTip::hideText();
        else QToolTip::showText(he->globalPos(), text, this);
        return true;
    }
    return QWidget::event(e);
}

void TokenTrackView::mousePressEvent(QMouseEvent* e) {
    if (e->button() != Qt::LeftButton) return QWidget::mousePressEvent(e);
    dragging_ = true;
    dragged_ = false;
    pressPos_ = e->position().toPoint();
    pressFirst_ = viewport_->first();
    setFocus(Qt::MouseFocusReason);
}

void TokenTrackView::mouseMoveEvent(QMouseEvent* e) {
    if (!dragging_) return;
    const int dx = e->position().toPoint().x() - pressPos_.x();
    if (std::abs(dx) > 3) dragged_ = true;
    if (dragged_) {
        setCursor(Qt::ClosedHandCursor);
        viewport_->setView(pressFirst_ - dx / viewport_->pixelsPerToken(), viewport_->pixelsPerToken());
    }
}

void TokenTrackView::mouseReleaseEvent(QMouseEvent* e) {
    if (!dragging_ || e->button() != Qt::LeftButton) return;
    dragging_ = false;
    unsetCursor();
    if (!dragged_) {
        const qint64 t = tokenAt(e->position().toPoint().x());
        if (t >= 0) {
            viewport_->setSelected(t);
            Q_EMIT tokenClicked(t);
        }
    }
}

void TokenTrackView::wheelEvent(QWheelEvent* e) {
    const QPoint d = e->angleDelta();
    const double visible = tokenAreaWidth() / viewport_->pixelsPerToken();
    if ((e->modifiers() & Qt::ShiftModifier) || std::abs(d.x()) > std::abs(d.y())) {
        const int steps = d.x() != 0 ? d.x() : d.y();
        viewport_->panBy(-steps / 120.0 * visible * 0.1);
    } else {
        const double anchor = viewport_->first() + (e->position().x() - kLabelWidth) / viewport_->pixelsPerToken();
        viewport_->zoomBy(std::pow(1.25, d.y() / 120.0), anchor);
    }
    e->accept();
}

void TokenTrackView::keyPressEvent(QKeyEvent* e) {
    const double visible = tokenAreaWidth() / viewport_->pixelsPerToken();
    const double center = viewport_->first() + visible / 2;
    switch (e->key()) {
        case Qt::Key_Left: viewport_->panBy(-visible * 0.1); break;
        case Qt::Key_Right: viewport_->panBy(visible * 0.1); break;
        case Qt::Key_PageUp: viewport_->panBy(-visible * 0.9); break;
        case Qt::Key_PageDown: viewport_->panBy(visible * 0.9); break;
        case Qt::Key_Home: viewport_->setView(0, viewport_->pixelsPerToken()); break;
        case Qt::Key_End: viewport_->setView(1e18, viewport_->pixelsPerToken()); break;
        case Qt::Key_Plus:
        case Qt::Key_Equal: viewport_->zoomBy(1.5, center); break;
        case Qt::Key_Minus: viewport_->zoomBy(1 / 1.5, center); break;
        default: QWidget::keyPressEvent(e); return;
    }
}

}  // namespace ponet::gui
