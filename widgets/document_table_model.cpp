#include "widgets/document_table_model.h"

#include <QFileInfo>
#include <QLocale>

#include <cmath>
#include <string_view>

namespace ponet::gui {

namespace {

// Whether `id` names the file `source` as the importers write ids: the file's name itself, a path ending in it
// ("pos/a.txt"), or the name followed by a line or record number ("x.jsonl:12", "x.parquet#3"). A bare substring
// would take "q1" for naming a file called "1".
bool idNamesFile(std::string_view id, std::string_view source) {
    const auto slash = source.find_last_of("/\\");
    const std::string_view name = slash == std::string_view::npos ? source : source.substr(slash + 1);
    if (name.empty() || id.size() < name.size()) return false;
    if (id == name) return true;
    const auto at = id.rfind(name);
    if (at == std::string_view::npos) return false;
    const bool startsPart = at == 0 || id[at - 1] == '/' || id[at - 1] == '\\';
    const auto after = at + name.size();
    const bool endsPart = after == id.size() || id[after] == ':' || id[after] == '#';
    return startsPart && endsPart;
}

}  // namespace

DocumentTableModel::DocumentTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void DocumentTableModel::setDocuments(std::shared_ptr<const std::vector<ponet::Document>> documents,
                                      bool images) {
    beginResetModel();
    documents_ = std::move(documents);
    images_ = images;
    lengths_.clear();
    sourceAddsNothing_ = true;
    if (documents_ && !documents_->empty()) {
        const std::string& first = documents_->front().source;
        bool oneSource = true, idsNameFiles = true;
        for (const auto& d : *documents_) {
            oneSource = oneSource && d.source == first;
            idsNameFiles = idsNameFiles && idNamesFile(d.id, d.source);
            if (!oneSource && !idsNameFiles) break;
        }
        sourceAddsNothing_ = oneSource || idsNameFiles;
    }
    endResetModel();
}

void DocumentTableModel::setLengths(std::vector<int64_t> lengths) {
    lengths_ = std::move(lengths);
    if (rowCount() > 0) Q_EMIT dataChanged(index(0, TokensColumn), index(rowCount() - 1, TokensColumn));
}

void DocumentTableModel::clear() {
    setDocuments(nullptr, false);
}

const ponet::Document* DocumentTableModel::document(int row) const {
    if (!documents_ || row < 0 || row >= rowCount()) return nullptr;
    return &(*documents_)[static_cast<size_t>(row)];
}

int64_t DocumentTableModel::length(int row) const {
    return row >= 0 && static_cast<size_t>(row) < lengths_.size() ? lengths_[static_cast<size_t>(row)] : -1;
}

int DocumentTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() || !documents_ ? 0 : static_cast<int>(documents_->size());
}

int DocumentTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString DocumentTableModel::excerpt(const ponet::Document& d) const {
    if (images_) {
        const auto side = static_cast<qint64>(std::llround(std::sqrt(static_cast<double>(d.text.size()))));
        if (side * side == static_cast<qint64>(d.text.size())) return tr("%1 × %1 image").arg(side);
        return tr("image of %1 pixels").arg(static_cast<qlonglong>(d.text.size()));
    }
    // Only the start is decoded: a document can be megabytes long. Cut on a UTF-8 lead byte.
    size_t cut = std::min(d.text.size(), static_cast<size_t>(kExcerptChars * 4));
    while (cut < d.text.size() && cut > 0 && (static_cast<unsigned char>(d.text[cut]) & 0xC0) == 0x80) --cut;
    QString s = QString::fromUtf8(d.text.data(), static_cast<qsizetype>(cut)).simplified();
    if (!d.text_b.empty()) s += QStringLiteral("  ‖  ") + QString::fromUtf8(d.text_b.data(), std::min<qsizetype>(d.text_b.size(), 200)).simplified();
    if (s.size() > kExcerptChars) s = s.left(kExcerptChars - 1) + QStringLiteral("…");
    return s;
}

QVariant DocumentTableModel::data(const QModelIndex& index, int role) const {
    const ponet::Document* d = document(index.row());
    if (!d) return {};
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
            case IdColumn:
                return QString::fromStdString(d->id);
            case TextColumn:
                return excerpt(*d);
            case LabelColumn: {
                QStringList labels;
                for (const auto& l : d->labels) labels << QString::fromStdString(l);
                return labels.isEmpty() ? tr("—") : labels.join(QStringLiteral(", "));
            }
            case TokensColumn: {
                const int64_t n = length(index.row());
                return n < 0 ? QStringLiteral("…") : QLocale().toString(static_cast<qlonglong>(n));
            }
            case SourceColumn:
                return QFileInfo(QString::fromStdString(d->source)).fileName();
        }
    } else if (role == Qt::ToolTipRole && index.column() == TextColumn && !images_) {
        // The tooltip shows more than the cell, still bounded.
        return QString::fromUtf8(d->text.data(), std::min<qsizetype>(d->text.size(), 2000));
    } else if (role == Qt::ToolTipRole && index.column() == SourceColumn) {
        return QString::fromStdString(d->source);
    } else if (role == Qt::TextAlignmentRole && index.column() == TokensColumn) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return {};
}

QVariant DocumentTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case IdColumn:
            return tr("Document");
        case TextColumn:
            return tr("Text");
        case LabelColumn:
            return tr("Label");
        case TokensColumn:
            return tr("Tokens");
        case SourceColumn:
            return tr("File");
    }
    return {};
}

}  // namespace ponet::gui
