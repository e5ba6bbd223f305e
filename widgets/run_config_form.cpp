#include "widgets/run_config_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QStyle>
#include <QTabWidget>
#include <QToolButton>

#include <climits>
#include <exception>

#include "core/util/error.h"
#include "widgets/core_metatypes.h"

namespace ponet::gui {
namespace {

// The option table's texts are translated under this context (lupdate sees the table through a list).
QString translated(const std::string& s) {
    return QCoreApplication::translate("ponet::RunOption", s.c_str());
}

QString sectionOf(const std::string& key) {
    const auto dot = key.find('.');
    return dot == std::string::npos ? QString() : QString::fromStdString(key.substr(0, dot));
}

// "train.early_stopping.patience" -> "early stopping patience": the key without its section, in words.
QString labelOf(const std::string& key) {
    const auto dot = key.find('.');
    QString tail = QString::fromStdString(dot == std::string::npos ? key : key.substr(dot + 1));
    tail.replace(QLatin1Char('_'), QLatin1Char(' '));
    tail.replace(QLatin1Char('.'), QLatin1Char(' '));
    return translated(tail.toStdString());
}

bool fitsSpinBox(const ponet::OptionInfo& o) {
    return o.min && o.max && *o.min >= INT_MIN && *o.max <= INT_MAX;
}

}  // namespace

RunConfigForm::RunConfigForm(const QSet<QString>& excluded, QWidget* parent) : QWidget(parent) {
    tabs_ = new QTabWidget(this);
    tabs_->setObjectName(QStringLiteral("configTabs"));
    tabs_->setDocumentMode(true);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tabs_);

    const struct {
        QString section, title;
    } sections[] = {{QString(), tr("Run")},
                    {QStringLiteral("data"), tr("Data")},
                    {QStringLiteral("model"), tr("Model")},
                    {QStringLiteral("train"), tr("Training")}};
    QHash<QString, QFormLayout*> forms;
    for (const auto& s : sections) {
        auto* scroll = new QScrollArea(tabs_);
        scroll->setWidgetResizable(true);
        scroll->setFrameShape(QFrame::NoFrame);
        auto* page = new QWidget(scroll);
        auto* form = new QFormLayout(page);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        form->setRowWrapPolicy(QFormLayout::DontWrapRows);
        form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
        scroll->setWidget(page);
        tabs_->addTab(scroll, s.title);
        forms.insert(s.section, form);
    }

    for (const ponet::OptionInfo& o : ponet::run_options()) {
        const QString key = QString::fromStdString(o.key);
        if (excluded.contains(key)) continue;
        QFormLayout* form = forms.value(sectionOf(o.key), forms.value(QString()));
        Field f;
        f.info = o;
        QWidget* page = form->parentWidget();
        f.editor = createEditor(o, page);
        f.editor->setObjectName(QStringLiteral("option:") + key);
        const QString help = translated(o.help);
        f.editor->setToolTip(QStringLiteral("<b>%1</b><br>%2").arg(key.toHtmlEscaped(), help.toHtmlEscaped()));
        f.editor->setAccessibleName(labelOf(o.key));
        f.editor->setAccessibleDescription(help);
        auto* label = new QLabel(labelOf(o.key), page);
        label->setToolTip(f.editor->toolTip());
        QWidget* field = f.editor;
        if (o.type == ponet::OptionType::Path) {
            // A line edit with a browse button beside it; the label's buddy stays the line edit.
            auto* row = new QWidget(page);
            auto* h = new QHBoxLayout(row);
            h->setContentsMargins(0, 0, 0, 0);
            f.editor->setParent(row);
            h->addWidget(f.editor, 1);
            auto* browse = new QToolButton(row);
            browse->setText(tr("…"));
            browse->setToolTip(tr("Choose a file for %1").arg(key));
            browse->setAccessibleName(tr("Browse for %1").arg(labelOf(o.key)));
            auto* edit = static_cast<QLineEdit*>(f.editor);
            connect(browse, &QToolButton::clicked, this, [this, edit, key] {
                const QString path = QFileDialog::getOpenFileName(this, tr("Choose %1").arg(key), edit->text());
                if (!path.isEmpty()) {
                    edit->setText(path);
                    onEdited(key);
                }
            });
            h->addWidget(browse);
            field = row;
        }
        label->setBuddy(f.editor);
        form->addRow(label, field);
        index_.insert(key, static_cast<int>(fields_.size()));
        fields_ << f;
    }
    // The training options are what a run is most often adjusted by.
    tabs_->setCurrentIndex(tabs_->count() - 1);
    setConfig(config_);
}

QWidget* RunConfigForm::createEditor(const ponet::OptionInfo& o, QWidget* parent) {
    const QString key = QString::fromStdString(o.key);
    switch (o.type) {
        case ponet::OptionType::Bool: {
            auto* box = new QCheckBox(parent);
            connect(box, &QCheckBox::toggled, this, [this, key] { onEdited(key); });
            return box;
        }
        case ponet::OptionType::Choice: {
            auto* combo = new QComboBox(parent);
            for (const std::string& a : o.allowed) combo->addItem(QString::fromStdString(a));
            connect(combo, &QComboBox::currentIndexChanged, this, [this, key] { onEdited(key); });
            return combo;
        }
        case ponet::OptionType::Int:
            if (fitsSpinBox(o)) {
                auto* spin = new QSpinBox(parent);
                spin->setRange(static_cast<int>(*o.min), static_cast<int>(*o.max));
                spin->setKeyboardTracking(false);
                spin->setGroupSeparatorShown(true);
                connect(spin, &QSpinBox::valueChanged, this, [this, key] { onEdited(key); });
                return spin;
            }
            [[fallthrough]];
        default: {
            auto* edit = new QLineEdit(parent);
            edit->setClearButtonEnabled(o.type == ponet::OptionType::String || o.type == ponet::OptionType::Path);
            connect(edit, &QLineEdit::textEdited, this, [this, key] { onEdited(key); });
            return edit;
        }
    }
}

QString RunConfigForm::editorText(const Field& f) const {
    if (auto* box = qobject_cast<QCheckBox*>(f.editor)) return box->isChecked() ? "true" : "false";
    if (auto* combo = qobject_cast<QComboBox*>(f.editor)) return combo->currentText();
    if (auto* spin = qobject_cast<QSpinBox*>(f.editor)) return QString::number(spin->value());
    if (auto* edit = qobject_cast<QLineEdit*>(f.editor)) return edit->text().trimmed();
    return {};
}

void RunConfigForm::setEditorText(Field& f, const QString& text) {
    if (auto* box = qobject_cast<QCheckBox*>(f.editor)) box->setChecked(text == QLatin1String("true"));
    else if (auto* combo = qobject_cast<QComboBox*>(f.editor)) combo->setCurrentIndex(combo->findText(text));
    else if (auto* spin = qobject_cast<QSpinBox*>(f.editor)) spin->setValue(text.toInt());
    else if (auto* edit = qobject_cast<QLineEdit*>(f.editor)) edit->setText(text);
}

void RunConfigForm::setConfig(const ponet::RunConfig& config) {
    const bool wasValid = errors_.isEmpty();
    config_ = config;
    filling_ = true;
    for (Field& f : fields_) {
        setEditorText(f, qstr(ponet::get_option(config_, f.info.key)));
        markError(f, QString());
    }
    filling_ = false;
    errors_.clear();
    if (!wasValid) Q_EMIT validityChanged(true);
    Q_EMIT configChanged();
}

void RunConfigForm::onEdited(const QString& key) {
    if (filling_) return;
    const int i = index_.value(key, -1);
    if (i < 0) return;
    Field& f = fields_[i];
    const bool wasValid = errors_.isEmpty();
    try {
        ponet::RunConfig next = config_;
        ponet::set_option(next, f.info.key, editorText(f).toStdString());
        next.validate();
        config_ = std::move(next);
        errors_.remove(key);
        markError(f, QString());
        // A valid value may make another field's earlier complaint (a cross-field check) go away.
        for (Field& g : fields_) {
            const QString other = QString::fromStdString(g.info.key);
            if (!errors_.contains(other)) continue;
            ponet::RunConfig probe = config_;
            try {
                ponet::set_option(probe, g.info.key, editorText(g).toStdString());
                probe.validate();
                config_ = std::move(probe);
                errors_.remove(other);
                markError(g, QString());
            } catch (const std::exception&) {
            }
        }
        Q_EMIT configChanged();
    } catch (const std::exception& e) {
        const QString message = qstr(e.what());
        errors_.insert(key, message);
        markError(f, message);
    }
    if (wasValid != errors_.isEmpty()) Q_EMIT validityChanged(errors_.isEmpty());
}

void RunConfigForm::markError(Field& f, const QString& error) {
    const QString key = QString::fromStdString(f.info.key);
    const QString help = translated(f.info.help);
    QString tip = QStringLiteral("<b>%1</b><br>%2").arg(key.toHtmlEscaped(), help.toHtmlEscaped());
    if (!error.isEmpty()) tip += QStringLiteral("<br><span style='color:#b00020'>%1</span>").arg(error.toHtmlEscaped());
    f.editor->setToolTip(tip);
    // A red frame for a bad value; the style sheet is local to this one editor.
    f.editor->setStyleSheet(error.isEmpty() ? QString() : QStringLiteral("border: 1px solid #d32f2f;"));
    f.editor->setProperty("invalid", !error.isEmpty());
}

QStringList RunConfigForm::errors() const {
    QStringList out;
    for (const Field& f : fields_) {
        const QString key = QString::fromStdString(f.info.key);
        if (errors_.contains(key)) out << errors_.value(key);
    }
    return out;
}

bool RunConfigForm::setValue(const QString& key, const QString& text, QString* error) {
    const int i = index_.value(key, -1);
    if (i < 0) {
        if (error) *error = tr("no field for option %1").arg(key);
        return false;
    }
    filling_ = true;
    setEditorText(fields_[i], text);
    filling_ = false;
    onEdited(key);
    if (errors_.contains(key)) {
        if (error) *error = errors_.value(key);
        return false;
    }
    return true;
}

QString RunConfigForm::valueText(const QString& key) const {
    const int i = index_.value(key, -1);
    return i < 0 ? QString() : editorText(fields_[i]);
}

QWidget* RunConfigForm::fieldFor(const QString& key) const {
    const int i = index_.value(key, -1);
    return i < 0 ? nullptr : fields_[i].editor;
}

QStringList RunConfigForm::keys() const {
    QStringList out;
    for (const Field& f : fields_) out << QString::fromStdString(f.info.key);
    return out;
}

}  // namespace ponet::gui
