// The explorer's document view: tokens along x (segments shaded), with tracks under them — GA heat strips,
// SMP features won, LMP sources, branch-share stacks — one row per layer where it applies. Painted, never a
// widget per token: each repaint visits only the pixel columns on screen and aggregates the tokens under each
// (level of detail), so a 16,384-token document zooms and pans as fast as a short one.
#pragma once
#include <QColor>
#include <QObject>
#include <QSet>
#include <QWidget>

#include "widgets/inspection_worker.h"

class QScrollBar;

namespace ponet::gui {

// Colours shared by every explorer view and the legends.
namespace explorer_colors {
QColor branch(ponet::Branch b);       // global, segment, local
QColor lmp(ponet::LmpSource s);       // left, self, right
QColor heat(double t);                // t in [0, 1]: white → yellow → red → dark purple
QColor wins(double t);                // t in [0, 1]: white → dark green
}  // namespace explorer_colors

// Zoom and pan shared by the views of one document: the first visible token and the pixels per token.
class TokenViewport : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;
    static constexpr double kMaxPixelsPerToken = 90.0;

    void setLength(qint64 tokens);
    qint64 length() const { return length_; }
    double first() const { return first_; }
    double pixelsPerToken() const { return ppt_; }
    // The width the views' token area has; fitting the whole document is the furthest zoom-out.
    void setWidth(int pixels);
    int width() const { return width_; }
    double visibleTokens() const { return width_ / ppt_; }

    void setView(double first, double pixelsPerToken);  // clamped
    void zoomBy(double factor, double anchorToken);      // keeps anchorToken under the same pixel
    void panBy(double tokens) { setView(first_ + tokens, ppt_); }
    void fit() { setView(0, 0); }
    void centerOn(qint64 token, double pixelsPerToken = -1);

    qint64 selected() const { return selected_; }
    void setSelected(qint64 token);

  Q_SIGNALS:
    void changed();
    void selectionChanged(qint64 token);

  private:
    double minPpt() const;
    qint64 length_ = 0;
    int width_ = 800;
    double first_ = 0, ppt_ = 1;
    qint64 selected_ = -1;
};

class TokenTrackView : public QWidget {
    Q_OBJECT
  public:
    enum class Track {
        Text,       // tokens with segment shading; their text when zoomed in far enough
        GaLayer,    // GA heat strip of the chosen layer (and head)
        GaLayers,   // one GA heat strip per layer
        SmpWins,    // per layer: the share of the D features each token won in its segment
        Lmp,        // per layer: where the local max came from (left / self / right)
        Shares,     // per layer: the global / segment / local shares, stacked
    };
    static constexpr int kLabelWidth = 96;

    explicit TokenTrackView(TokenViewport* viewport, QWidget* parent = nullptr);

    void setTracks(const QList<Track>& tracks);
    void setInspection(const InspectionPtr& inspection);
    const InspectionPtr& inspection() const { return inspection_; }
    TokenViewport* viewport() const { return viewport_; }
    void setLayer(int layer);
    void setHead(int head);  // -1: mean over heads
    void setSearchHits(const QList<qint64>& hits);
    // The SMP sources of the selected token are outlined in the SMP rows.
    void setShowSmpSources(bool on);
    // Whether this view's width defines the viewport's fitting width (the main view does, compare views not).
    void setDrivesViewport(bool on) { drivesViewport_ = on; }

    qint64 tokenAt(int x) const;  // -1 outside the tokens
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  Q_SIGNALS:
    void tokenClicked(qint64 token);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    bool event(QEvent* event) override;

  private:
    struct Row {
        Track track;
        int layer;  // -1 for Text / GaLayer
        int top, height;
        QString label;
    };
    QList<Row> layoutRows() const;
    int tokenAreaWidth() const;
    void syncScrollBar();
    QString describeToken(qint64 token) const;

    TokenViewport* viewport_;
    QScrollBar* scroll_;
    QList<Track> tracks_{Track::Text};
    InspectionPtr inspection_;
    std::vector<float> gaMax_;  // per layer (and head + 1 slots): the largest weight, for the colour scale
    int layer_ = 0, head_ = -1;
    QSet<qint64> hits_;
    QList<qint64> hitList_;
    bool showSmpSources_ = false;
    bool drivesViewport_ = true;
    bool dragging_ = false, dragged_ = false;
    QPoint pressPos_;
    double pressFirst_ = 0;
    bool syncing_ = false;
};

}  // namespace ponet::gui
