// The Data page's preview: one row per document (text excerpt, label, length in tokens, source). Rows are
// computed when the view asks for them, so a dataset of 100,000 documents costs nothing until it is scrolled.
#pragma once
#include <QAbstractTableModel>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/data/document.h"

namespace ponet::gui {

class DocumentTableModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column { IdColumn, TextColumn, LabelColumn, TokensColumn, SourceColumn, ColumnCount };
    static constexpr int kExcerptChars = 160;

    explicit DocumentTableModel(QObject* parent = nullptr);

    // `images`: documents hold pixel bytes, shown as "28 × 28 image" instead of text.
    void setDocuments(std::shared_ptr<const std::vector<ponet::Document>> documents, bool images);
    // One length per document, or empty while they are being measured ("…").
    void setLengths(std::vector<int64_t> lengths);
    void clear();

    const ponet::Document* document(int row) const;
    int64_t length(int row) const;  // -1 while unknown
    // Whether the File column tells nothing the Document column and the page's header do not: every document
    // comes from one file, or each one's id already names its file (a folder import's "label/file.txt", a JSONL or
    // CSV import's "file:line"). The page then hides the column.
    bool sourceAddsNothing() const { return sourceAddsNothing_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  private:
    QString excerpt(const ponet::Document& d) const;

    std::shared_ptr<const std::vector<ponet::Document>> documents_;
    std::vector<int64_t> lengths_;
    bool images_ = false;
    bool sourceAddsNothing_ = true;
};

}  // namespace ponet::gui
