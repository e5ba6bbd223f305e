// ponet-studio: the desktop application's entry point. Parses the command line and shows the main window;
// everything else lives in widgets/.
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

#include <cstdio>

#include "core/util/runtime.h"
#include "widgets/idle_screenshot.h"
#include "widgets/main_window.h"
#include "widgets/preferences_dialog.h"

int main(int argc, char* argv[]) {
    // Organisation and application name make the settings file $XDG_CONFIG_HOME/ponet-studio/ponet-studio.conf,
    // next to the core's other XDG folders (core/data/xdg.h); people see the display name.
    QApplication::setOrganizationName(QStringLiteral("ponet-studio"));
    QApplication::setApplicationName(QStringLiteral("ponet-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("PoNet Studio"));
    QApplication::setApplicationVersion(QStringLiteral(PONET_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("ponet-studio"));
    // Qt 6 scales for high DPI on its own; pass fractional factors through so 125 % and 150 % screens get
    // sharp text instead of rounded-up scaling.
    QGuiApplication::setHighDpiScaleFactorRoundingPolicy(Qt::HighDpiScaleFactorRoundingPolicy::PassThrough);
    QApplication app(argc, argv);
    // Debian's LibTorch starts with one intra-op thread; use every core for the worker threads' tensor work.
    ponet::init_runtime();
    QApplication::setWindowIcon(ponet::gui::PreferencesDialog::applicationIcon());
    // The runs folder chosen in Preferences applies to everything that creates or lists runs.
    ponet::gui::PreferencesDialog::applyStoredSettings();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QApplication::translate("main", "Train, benchmark and look inside PoNet models."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption pageOption(
        QStringLiteral("page"),
        QApplication::translate("main", "Open on page <page>: %1.")
            .arg(ponet::gui::MainWindow::pageIds().join(QStringLiteral(", "))),
        QApplication::translate("main", "page"));
    const QCommandLineOption modelOption(
        QStringLiteral("model"),
        QApplication::translate("main", "Show the model in <dir> (a directory with config.json)."),
        QApplication::translate("main", "dir"));
    const QCommandLineOption selfTestOption(QStringLiteral("run-selftest"),
                                            QApplication::translate("main", "Start the self-test at once."));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QApplication::translate("main", "Save a PNG of the window to <file> once it is idle, then quit."),
        QApplication::translate("main", "file"));
    const QCommandLineOption preferencesOption(
        QStringLiteral("preferences"),
        QApplication::translate("main", "Open the Preferences dialog (with --screenshot: a picture of it)."));
    const QCommandLineOption listPagesOption(QStringLiteral("list-pages"),
                                             QApplication::translate("main", "Print the page ids, one a line."));
    parser.addOptions(
        {pageOption, modelOption, selfTestOption, screenshotOption, preferencesOption, listPagesOption});
    parser.process(app);
    if (parser.isSet(listPagesOption)) {
        for (const QString& id : ponet::gui::MainWindow::pageIds()) std::printf("%s\n", qPrintable(id));
        return 0;
    }

    const QString page = parser.value(pageOption);
    if (!page.isEmpty() && !ponet::gui::MainWindow::pageIds().contains(page)) {
        std::fprintf(
            stderr, "%s\n",
            qPrintable(QApplication::translate("main", "Unknown page “%1”; the pages are: %2.")
                           .arg(page, ponet::gui::MainWindow::pageIds().join(QStringLiteral(", ")))));
        return 2;
    }

    ponet::gui::MainWindow window({page, parser.value(modelOption)});
    window.show();
    if (parser.isSet(selfTestOption)) QTimer::singleShot(0, &window, &ponet::gui::MainWindow::runSelfTest);
    QWidget* pictured = &window;
    if (parser.isSet(preferencesOption)) pictured = window.showPreferences();

    if (parser.isSet(screenshotOption)) {
        auto* shot = new ponet::gui::IdleScreenshot(
            pictured, [&window] { return window.isBusy(); }, parser.value(screenshotOption), &app);
        QObject::connect(shot, &ponet::gui::IdleScreenshot::done, &app,
                         [&app](bool ok, const QString& message) {
                             std::fprintf(ok ? stdout : stderr, "%s\n", qPrintable(message));
                             app.exit(ok ? 0 : 1);
                         });
        constexpr int kMaxWaitMs = 15 * 60 * 1000;  // a full self-test on every device fits in this
        shot->start(kMaxWaitMs);
    }
    return app.exec();
}
