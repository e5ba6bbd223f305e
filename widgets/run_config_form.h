// The training-options form, generated from the RunConfig option table (core/train/run_config.h), the same
// table behind the CLI's --set and the JSON reader, so the three cannot drift. One tab per section (run,
// data, model, train); every field carries the option's help as its tooltip and is checked as it is edited:
// a bad value is marked and explained, and the configuration keeps its last good value.
#pragma once
#include <QHash>
#include <QSet>
#include <QString>
#include <QWidget>

#include "core/train/run_config.h"

class QTabWidget;

namespace ponet::gui {

class RunConfigForm : public QWidget {
    Q_OBJECT
  public:
    // Options listed in `excluded` get no field (the page offers them elsewhere: the task, the device).
    explicit RunConfigForm(const QSet<QString>& excluded = {}, QWidget* parent = nullptr);

    void setConfig(const ponet::RunConfig& config);  // fills every field; clears marked errors
    // The configuration with every valid field applied (invalid fields keep the last good value).
    const ponet::RunConfig& config() const { return config_; }
    // "key: problem" for each field whose text is not a valid value; empty when the form is good.
    QStringList errors() const;

    // Sets one option as if typed (tests, and the page's shortcuts); false with the reason when invalid.
    bool setValue(const QString& key, const QString& text, QString* error = nullptr);
    QString valueText(const QString& key) const;  // the field's current text
    QWidget* fieldFor(const QString& key) const;
    QStringList keys() const;  // the keys that have a field, in table order

  Q_SIGNALS:
    void configChanged();  // a field changed to a valid value
    void validityChanged(bool valid);

  private:
    struct Field {
        ponet::OptionInfo info;
        QWidget* editor = nullptr;
    };
    QWidget* createEditor(const ponet::OptionInfo& info, QWidget* parent);
    QString editorText(const Field& f) const;
    void setEditorText(Field& f, const QString& text);
    void onEdited(const QString& key);
    void markError(Field& f, const QString& error);

    ponet::RunConfig config_;
    QList<Field> fields_;
    QHash<QString, int> index_;
    QHash<QString, QString> errors_;
    QTabWidget* tabs_ = nullptr;
    bool filling_ = false;
};

}  // namespace ponet::gui
