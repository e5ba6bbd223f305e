#include "widgets/preferences_dialog.h"

#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QStyle>
#include <QTemporaryFile>
#include <QUrl>
#include <QVBoxLayout>
#include <QtGlobal>

#include "core/data/xdg.h"
#include "core/util/paths.h"
#include "core/util/runtime.h"
#include "widgets/inline_message.h"

namespace ponet::gui {
namespace {

const char kRunsKey[] = "paths/runs";

QString fromStd(const std::string& s) {
    return QString::fromStdString(s);
}

QString cudaDescription(const QStringList& devices) {
    QStringList gpus;
    for (const QString& d : devices) {
        if (d.startsWith(QLatin1String("cuda"))) gpus << d;
    }
    if (!gpus.isEmpty()) {
        return PreferencesDialog::tr("%n GPU(s): %1", nullptr, static_cast<int>(gpus.size()))
            .arg(gpus.join(QStringLiteral(", ")));
    }
    if (ponet::torch_has_cuda()) return PreferencesDialog::tr("built in, but no GPU was found");
    return PreferencesDialog::tr("not in this build (the LibTorch it runs on is CPU-only)");
}

// A folder the user can write to: it exists (or was just made) and a file can be created in it.
QString writableFolderProblem(const QString& directory) {
    const QFileInfo info(directory);
    if (!info.isAbsolute()) return PreferencesDialog::tr("“%1” is not an absolute path.").arg(directory);
    if (info.exists() && !info.isDir()) return PreferencesDialog::tr("“%1” is a file, not a folder.").arg(directory);
    if (!QDir().mkpath(directory)) return PreferencesDialog::tr("The folder “%1” cannot be created.").arg(directory);
    QTemporaryFile probe(QDir(directory).filePath(QStringLiteral(".ponet-write-test-XXXXXX")));
    if (!probe.open()) {
        return PreferencesDialog::tr("The folder “%1” is not writable: %2").arg(directory, probe.errorString());
    }
    return {};
}

}  // namespace

PreferencesDialog::PreferencesDialog(const QStringList& devices, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("preferencesDialog"));
    setWindowTitle(tr("Preferences"));

    auto* header = new QWidget(this);
    auto* headerLayout = new QHBoxLayout(header);
    headerLayout->setContentsMargins(0, 0, 0, 0);
    auto* icon = new QLabel(header);
    icon->setPixmap(applicationIcon().pixmap(64, 64));
    auto* title = new QLabel(
        tr("<b style='font-size:large'>PoNet Studio %1</b><br>Train, benchmark and look inside PoNet models.")
            .arg(QStringLiteral(PONET_VERSION)),
        header);
    title->setObjectName(QStringLiteral("preferencesTitle"));
    headerLayout->addWidget(icon);
    headerLayout->addWidget(title, 1);

    message_ = new InlineMessage(this);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(header);
    layout->addWidget(message_);
    layout->addWidget(createVersionsBox(devices));
    layout->addWidget(createFoldersBox());
    layout->addWidget(createLicenceBox());
    layout->addStretch(1);
    layout->addWidget(buttons);
    setMinimumWidth(840);
}

QString PreferencesDialog::runsDirectorySetting() {
    return QSettings().value(QLatin1String(kRunsKey)).toString();
}

QString PreferencesDialog::runsDirectory() {
    return fromStd(ponet::runs_dir());
}

void PreferencesDialog::applyStoredSettings() {
    ponet::set_runs_dir_override(runsDirectorySetting().toStdString());
}

QIcon PreferencesDialog::applicationIcon() {
    QIcon builtIn;
    for (int size : {16, 22, 24, 32, 48, 64, 128, 256})
        builtIn.addFile(QStringLiteral(":/icons/ponet-studio-%1.png").arg(size), QSize(size, size));
    return QIcon::fromTheme(QStringLiteral("ponet-studio"), builtIn);
}

QWidget* PreferencesDialog::createVersionsBox(const QStringList& devices) {
    auto* box = new QGroupBox(tr("Versions"), this);
    auto* form = new QFormLayout(box);
    auto addRow = [&](const QString& label, const QString& value, const char* name) {
        auto* field = new QLabel(value, box);
        field->setObjectName(QLatin1String(name));
        field->setTextInteractionFlags(Qt::TextSelectableByMouse);
        form->addRow(label, field);
    };
    addRow(tr("PoNet Studio:"), QStringLiteral(PONET_VERSION), "versionApp");
    addRow(tr("LibTorch:"),
           ponet::torch_has_cuda() ? tr("%1 with CUDA").arg(QLatin1String(ponet::torch_version()))
                                   : tr("%1, CPU only").arg(QLatin1String(ponet::torch_version())),
           "versionTorch");
    addRow(tr("Qt:"), tr("%1 (built with %2)").arg(QLatin1String(qVersion()), QStringLiteral(QT_VERSION_STR)),
           "versionQt");
    addRow(tr("CUDA:"), cudaDescription(devices), "versionCuda");
    return box;
}

QWidget* PreferencesDialog::createFoldersBox() {
    auto* box = new QGroupBox(tr("Folders"), this);
    auto* boxLayout = new QVBoxLayout(box);
    auto* grid = new QGridLayout;
    boxLayout->addLayout(grid);
    grid->setColumnStretch(1, 1);
    int row = 0;
    addFolderRow(grid, row++, tr("Settings:"), QSettings().fileName(), QStringLiteral("settings"), true);
    addFolderRow(grid, row++, tr("Data:"), fromStd(ponet::data_dir()), QStringLiteral("data"));
    addFolderRow(grid, row++, tr("Datasets:"), fromStd(ponet::datasets_dir()), QStringLiteral("datasets"));
    addFolderRow(grid, row++, tr("Cache:"), fromStd(ponet::cache_dir()), QStringLiteral("cache"));
    addFolderRow(grid, row++, tr("Resources:"), fromStd(ponet::resources_dir()), QStringLiteral("resources"));

    // The runs folder is the one a user may move (a bigger disk, a shared folder): its row can be edited.
    auto* label = new QLabel(tr("&Runs:"), box);
    runsEdit_ = new QLineEdit(box);
    runsEdit_->setObjectName(QStringLiteral("folder_runs"));
    runsEdit_->setToolTip(tr("Where new training runs are written and where the run library looks"));
    label->setBuddy(runsEdit_);
    connect(runsEdit_, &QLineEdit::editingFinished, this, [this] {
        const QString typed = runsEdit_->text().trimmed();
        if (typed != runsDirectory()) setRunsDirectory(typed);
    });
    auto* choose = new QPushButton(tr("Choose…"), box);
    choose->setObjectName(QStringLiteral("chooseRuns"));
    connect(choose, &QPushButton::clicked, this, &PreferencesDialog::chooseRunsDirectory);
    runsDefault_ = new QPushButton(tr("Default"), box);
    runsDefault_->setObjectName(QStringLiteral("defaultRuns"));
    runsDefault_->setToolTip(tr("Go back to %1").arg(fromStd(ponet::default_runs_dir())));
    connect(runsDefault_, &QPushButton::clicked, this, [this] { setRunsDirectory(QString()); });
    auto* open = new QPushButton(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("Open folder"), box);
    open->setObjectName(QStringLiteral("open_runs"));
    connect(open, &QPushButton::clicked, this, [this] {
        const QString dir = runsDirectory();
        QDir().mkpath(dir);
        if (!QDesktopServices::openUrl(QUrl::fromLocalFile(dir)))
            message_->showMessage(InlineMessage::Kind::Error, tr("No file manager could open “%1”.").arg(dir));
    });
    auto* runsButtons = new QHBoxLayout;
    runsButtons->addWidget(choose);
    runsButtons->addWidget(runsDefault_);
    grid->addWidget(label, row, 0);
    grid->addWidget(runsEdit_, row, 1);
    grid->addLayout(runsButtons, row, 2);
    grid->addWidget(open, row, 3);
    refreshRunsRow();

    // Two fixed lines rather than word wrap: a wrapped label inside a group box gets squeezed by the layout.
    auto* note = new QLabel(tr("The folders follow the XDG base directories ($XDG_CONFIG_HOME, $XDG_DATA_HOME, "
                               "$XDG_CACHE_HOME);\n$PONET_DATA_DIR and $PONET_RUNS_DIR override them."),
                            box);
    note->setObjectName(QStringLiteral("foldersNote"));
    note->setEnabled(false);  // drawn in the palette's secondary text colour
    boxLayout->addWidget(note);
    return box;
}

void PreferencesDialog::addFolderRow(QGridLayout* grid, int row, const QString& label, const QString& path,
                                     const QString& what, bool isFile) {
    QWidget* box = grid->parentWidget();
    auto* field = new QLineEdit(QDir::toNativeSeparators(path), box);
    field->setObjectName(QStringLiteral("folder_") + what);
    field->setReadOnly(true);
    field->setCursorPosition(0);
    auto* open = new QPushButton(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("Open folder"), box);
    open->setObjectName(QStringLiteral("open_") + what);
    // Our own folders are made on demand, so a fresh install can open them; the resources are read-only and
    // only opened when they exist.
    const bool ours = what != QLatin1String("resources");
    open->setEnabled(!path.isEmpty() && (ours || QFileInfo(path).isDir()));
    connect(open, &QPushButton::clicked, this, [this, path, isFile, ours] {
        const QString dir = isFile ? QFileInfo(path).absolutePath() : path;
        if (ours) QDir().mkpath(dir);
        if (!QDesktopServices::openUrl(QUrl::fromLocalFile(dir)))
            message_->showMessage(InlineMessage::Kind::Error, tr("No file manager could open “%1”.").arg(dir));
    });
    grid->addWidget(new QLabel(label, box), row, 0);
    grid->addWidget(field, row, 1, 1, 2);
    grid->addWidget(open, row, 3);
}

QWidget* PreferencesDialog::createLicenceBox() {
    auto* box = new QGroupBox(tr("Licence"), this);
    auto* layout = new QVBoxLayout(box);
    auto* text = new QLabel(
        tr("<p>PoNet Studio is free software: you can redistribute it and modify it under the terms of the GNU "
           "General Public License, version 3 or (at your option) any later version "
           "(<a href='https://www.gnu.org/licenses/gpl-3.0.html'>GPL-3.0-or-later</a>). It comes with "
           "ABSOLUTELY NO WARRANTY. It uses LibTorch (BSD-style licence), Qt (LGPL-3.0) and QCustomPlot "
           "(GPL-3.0).</p>"
           "<p>If you use PoNet, please cite:<br>Tan et al., <i>PoNet: Pooling Network for Efficient Token "
           "Mixing in Long Sequences</i>, ICLR 2022, arXiv:2110.02442.</p>"),
        box);
    text->setObjectName(QStringLiteral("licenceText"));
    text->setWordWrap(true);
    text->setOpenExternalLinks(true);
    layout->addWidget(text);
    return box;
}

void PreferencesDialog::chooseRunsDirectory() {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Choose the Runs Folder"), runsDirectory());
    if (!dir.isEmpty()) setRunsDirectory(dir);
}

bool PreferencesDialog::setRunsDirectory(const QString& directory) {
    const QString cleaned = directory.isEmpty() ? QString() : QDir::cleanPath(directory);
    if (!cleaned.isEmpty()) {
        const QString problem = writableFolderProblem(cleaned);
        if (!problem.isEmpty()) {
            message_->showMessage(InlineMessage::Kind::Error,
                                  tr("The runs folder stays %1. %2").arg(runsDirectory(), problem));
            refreshRunsRow();
            return false;
        }
    }
    // The default folder is stored as "no choice", so it follows $XDG_DATA_HOME if that moves later.
    const bool isDefault = cleaned.isEmpty() || cleaned == fromStd(ponet::default_runs_dir());
    QSettings settings;
    if (isDefault) {
        settings.remove(QLatin1String(kRunsKey));
    } else {
        settings.setValue(QLatin1String(kRunsKey), cleaned);
    }
    applyStoredSettings();
    message_->dismiss();
    refreshRunsRow();
    Q_EMIT runsDirectoryChanged(runsDirectory());
    return true;
}

QString PreferencesDialog::errorText() const {
    return !message_->isHidden() && message_->kind() == InlineMessage::Kind::Error ? message_->text() : QString();
}

void PreferencesDialog::refreshRunsRow() {
    runsEdit_->setText(QDir::toNativeSeparators(runsDirectory()));
    runsEdit_->setCursorPosition(0);
    runsDefault_->setEnabled(!runsDirectorySetting().isEmpty());
}

}  // namespace ponet::gui
