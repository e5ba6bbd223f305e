// Preferences and About in one dialog: the versions the app runs on, the folders it reads and writes (after
// the XDG base directories) with a button to open each, the runs folder a user may move, and the licence.
#pragma once
#include <QDialog>
#include <QIcon>
#include <QStringList>

class QGridLayout;
class QLineEdit;
class QPushButton;

namespace ponet::gui {

class InlineMessage;

class PreferencesDialog : public QDialog {
    Q_OBJECT
  public:
    // `devices`: the compute devices the main window found ("cpu", "cuda:0", ...); the dialog never asks
    // LibTorch itself, so opening it costs nothing.
    explicit PreferencesDialog(const QStringList& devices, QWidget* parent = nullptr);

    // The runs folder chosen in the preferences ("" = the default), and the one in effect.
    static QString runsDirectorySetting();
    static QString runsDirectory();
    // Makes the core use the stored runs folder (ponet::runs_dir()); main() calls it once at start-up.
    static void applyStoredSettings();
    // The application icon: the installed theme icon, else the copy built into the program.
    static QIcon applicationIcon();

    // Sets the runs folder ("" = the default), creating it; false with a message shown in the dialog when
    // the folder cannot be created or written.
    bool setRunsDirectory(const QString& directory);
    QString errorText() const;

  Q_SIGNALS:
    void runsDirectoryChanged(const QString& directory);

  private:
    QWidget* createVersionsBox(const QStringList& devices);
    QWidget* createFoldersBox();
    QWidget* createLicenceBox();
    void addFolderRow(QGridLayout* grid, int row, const QString& label, const QString& path,
                      const QString& what, bool isFile = false);
    void chooseRunsDirectory();
    void refreshRunsRow();

    InlineMessage* message_ = nullptr;
    QLineEdit* runsEdit_ = nullptr;
    QPushButton* runsDefault_ = nullptr;
};

}  // namespace ponet::gui
