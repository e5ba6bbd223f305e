// The Preferences dialog: versions, the XDG folders, the runs folder (stored, honoured by the core, bad
// choices refused without losing the old one), and how the main window opens it.
#include <QAction>
#include <QFile>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "core/data/xdg.h"
#include "core/util/runtime.h"
#include "gui_test_support.h"
#include "widgets/main_window.h"
#include "widgets/preferences_dialog.h"

using ponet::gui::PreferencesDialog;

class TestPreferences : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void showsVersionsFoldersAndLicence();
    void runsFolderIsStoredAndHonoured();
    void typedRunsFolderApplies();
    void badRunsFolderKeepsThePreviousOne();
    void environmentAndOverrideOrder();
    void mainWindowOpensPreferences();
    void screenshot();

  private:
    QLineEdit* field(PreferencesDialog& d, const char* name) {
        return d.findChild<QLineEdit*>(QLatin1String(name));
    }
    QString labelText(PreferencesDialog& d, const char* name) {
        auto* l = d.findChild<QLabel*>(QLatin1String(name));
        return l ? l->text() : QString();
    }
    QTemporaryDir home_;
};

void TestPreferences::initTestCase() {
    ponet::gui::test::isolateSettings();
    QVERIFY(home_.isValid());
    // Every folder the dialog shows comes from these, never from the developer's own home.
    qputenv("XDG_DATA_HOME", QFile::encodeName(home_.filePath(QStringLiteral("data"))));
    qputenv("XDG_CACHE_HOME", QFile::encodeName(home_.filePath(QStringLiteral("cache"))));
    qunsetenv("PONET_DATA_DIR");
    qunsetenv("PONET_RUNS_DIR");
}

void TestPreferences::init() {
    QSettings().clear();
    PreferencesDialog::applyStoredSettings();
}

void TestPreferences::cleanup() {
    qunsetenv("PONET_RUNS_DIR");
    ponet::set_runs_dir_override({});
}

void TestPreferences::showsVersionsFoldersAndLicence() {
    PreferencesDialog d({QStringLiteral("cpu")});
    QCOMPARE(labelText(d, "versionApp"), QStringLiteral(PONET_VERSION));
    QVERIFY(labelText(d, "versionTorch").contains(QLatin1String(ponet::torch_version())));
    QVERIFY(labelText(d, "versionQt").contains(QLatin1String(qVersion())));
    QVERIFY(!labelText(d, "versionCuda").isEmpty());
    // With a GPU in the device list, the CUDA row names it.
    PreferencesDialog withGpu({QStringLiteral("cpu"), QStringLiteral("cuda:0")});
    QVERIFY2(labelText(withGpu, "versionCuda").contains(QStringLiteral("cuda:0")),
             qPrintable(labelText(withGpu, "versionCuda")));

    const QString data = home_.filePath(QStringLiteral("data/ponet-studio"));
    QCOMPARE(field(d, "folder_data")->text(), data);
    QCOMPARE(field(d, "folder_datasets")->text(), data + QStringLiteral("/datasets"));
    QCOMPARE(field(d, "folder_cache")->text(), home_.filePath(QStringLiteral("cache/ponet-studio")));
    QCOMPARE(field(d, "folder_runs")->text(), data + QStringLiteral("/runs"));
    QCOMPARE(field(d, "folder_settings")->text(), QSettings().fileName());
    QVERIFY(field(d, "folder_data")->isReadOnly());
    QVERIFY(!field(d, "folder_runs")->isReadOnly());
    // Every folder row has its own Open button; the resources one only when they exist.
    for (const char* what : {"settings", "data", "datasets", "cache", "runs"}) {
        auto* open = d.findChild<QPushButton*>(QStringLiteral("open_") + QLatin1String(what));
        QVERIFY2(open && open->isEnabled(), what);
    }
    QVERIFY(d.findChild<QPushButton*>(QStringLiteral("open_resources"))->isEnabled());  // PONET_RESOURCES_DIR
    QVERIFY(!d.findChild<QPushButton*>(QStringLiteral("defaultRuns"))->isEnabled());
    QVERIFY(labelText(d, "licenceText").contains(QStringLiteral("GPL-3.0-or-later")));
}

void TestPreferences::runsFolderIsStoredAndHonoured() {
    const QString chosen = home_.filePath(QStringLiteral("elsewhere/runs"));
    {
        PreferencesDialog d({QStringLiteral("cpu")});
        QSignalSpy changed(&d, &PreferencesDialog::runsDirectoryChanged);
        QVERIFY(d.setRunsDirectory(chosen + QStringLiteral("/")));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(changed.at(0).at(0).toString(), chosen);
        QVERIFY(QFileInfo(chosen).isDir());  // made on the spot
        QVERIFY(d.errorText().isEmpty());
        QVERIFY(d.findChild<QPushButton*>(QStringLiteral("defaultRuns"))->isEnabled());
    }
    QCOMPARE(PreferencesDialog::runsDirectorySetting(), chosen);
    QCOMPARE(QString::fromStdString(ponet::runs_dir()), chosen);  // what the trainer and run library use

    // A new session: the core starts at the default until main() applies the stored setting.
    ponet::set_runs_dir_override({});
    QCOMPARE(ponet::runs_dir(), ponet::default_runs_dir());
    PreferencesDialog::applyStoredSettings();
    QCOMPARE(QString::fromStdString(ponet::runs_dir()), chosen);
    PreferencesDialog d({QStringLiteral("cpu")});
    QCOMPARE(field(d, "folder_runs")->text(), chosen);

    // Default: the setting goes away (so it follows $XDG_DATA_HOME later), the core goes back.
    QTest::mouseClick(d.findChild<QPushButton*>(QStringLiteral("defaultRuns")), Qt::LeftButton);
    QVERIFY(!QSettings().contains(QStringLiteral("paths/runs")));
    QCOMPARE(ponet::runs_dir(), ponet::default_runs_dir());
    QCOMPARE(field(d, "folder_runs")->text(), QString::fromStdString(ponet::default_runs_dir()));
}

void TestPreferences::typedRunsFolderApplies() {
    PreferencesDialog d({QStringLiteral("cpu")});
    d.show();
    QVERIFY(QTest::qWaitForWindowExposed(&d));
    const QString typed = home_.filePath(QStringLiteral("typed-runs"));
    QLineEdit* edit = field(d, "folder_runs");
    edit->setFocus();
    edit->selectAll();
    QTest::keyClicks(edit, typed);
    QTest::keyClick(edit, Qt::Key_Return);
    QCOMPARE(PreferencesDialog::runsDirectorySetting(), typed);
    QCOMPARE(QString::fromStdString(ponet::runs_dir()), typed);
}

void TestPreferences::badRunsFolderKeepsThePreviousOne() {
    PreferencesDialog d({QStringLiteral("cpu")});
    const QString before = PreferencesDialog::runsDirectory();
    QFile file(home_.filePath(QStringLiteral("a-file")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();

    QSignalSpy changed(&d, &PreferencesDialog::runsDirectoryChanged);
    QVERIFY(!d.setRunsDirectory(file.fileName()));
    QVERIFY2(d.errorText().contains(QStringLiteral("is a file")), qPrintable(d.errorText()));
    QVERIFY(d.errorText().contains(before));  // says what stays in effect
    QVERIFY(!d.setRunsDirectory(QStringLiteral("relative/runs")));
    QVERIFY2(d.errorText().contains(QStringLiteral("absolute")), qPrintable(d.errorText()));
    QVERIFY(!d.setRunsDirectory(file.fileName() + QStringLiteral("/below-a-file")));
    QVERIFY2(d.errorText().contains(QStringLiteral("cannot be created")), qPrintable(d.errorText()));

    QCOMPARE(changed.count(), 0);
    QCOMPARE(PreferencesDialog::runsDirectory(), before);
    QCOMPARE(field(d, "folder_runs")->text(), before);  // the field shows what is really used
    QVERIFY(!QSettings().contains(QStringLiteral("paths/runs")));
    // A good choice afterwards clears the message.
    QVERIFY(d.setRunsDirectory(home_.filePath(QStringLiteral("good"))));
    QVERIFY(d.errorText().isEmpty());
}

void TestPreferences::environmentAndOverrideOrder() {
    qputenv("PONET_RUNS_DIR", "/from/environment");
    QCOMPARE(ponet::runs_dir(), std::string("/from/environment"));
    ponet::set_runs_dir_override("/from/preferences");
    QCOMPARE(ponet::runs_dir(), std::string("/from/preferences"));
    ponet::set_runs_dir_override({});
    QCOMPARE(ponet::runs_dir(), std::string("/from/environment"));
    qunsetenv("PONET_RUNS_DIR");
    QCOMPARE(ponet::runs_dir(), ponet::data_dir() + "/runs");
}

void TestPreferences::mainWindowOpensPreferences() {
    ponet::gui::MainWindow w;
    w.show();
    auto* action = w.findChild<QAction*>(QStringLiteral("preferencesAction"));
    QVERIFY(action);
    action->trigger();
    auto* dialog = w.findChild<PreferencesDialog*>();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    QVERIFY(dialog->setRunsDirectory(home_.filePath(QStringLiteral("from-window"))));
    QTRY_VERIFY(w.logText().contains(QStringLiteral("from-window")));
    QPointer<PreferencesDialog> guard(dialog);
    dialog->reject();
    QTRY_VERIFY(guard.isNull());  // deleted on close: reopening starts from the current settings
}

void TestPreferences::screenshot() {
    PreferencesDialog d({QStringLiteral("cpu")});
    d.show();
    QVERIFY(QTest::qWaitForWindowExposed(&d));
    const QImage image = d.grab().toImage();
    QVERIFY(image.width() >= 700 && image.height() >= 400);
    QVERIFY(ponet::gui::test::distinctColours(image) >= 32);
    QVERIFY(image.save(ponet::gui::test::screenshotPath(QStringLiteral("preferences-offscreen.png"))));
}

QTEST_MAIN(TestPreferences)
#include "test_gui_preferences.moc"
