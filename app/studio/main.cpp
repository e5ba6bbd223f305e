// ponet-studio: the desktop application's entry point. Parses the command line and shows the main window;
// everything else lives in widgets/.
#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QIcon>
#include <QScreen>
#include <QTimer>

#include <cstdio>
#include <memory>

#include "core/util/runtime.h"
#include "widgets/classify_page.h"
#include "widgets/data_page.h"
#include "widgets/explorer_page.h"
#include "widgets/idle_screenshot.h"
#include "widgets/main_window.h"
#include "widgets/model_page.h"
#include "widgets/preferences_dialog.h"
#include "widgets/race_page.h"
#include "widgets/run_library.h"
#include "widgets/metric_plot.h"
#include "widgets/train_page.h"
#include "widgets/training_worker.h"

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
    const QCommandLineOption trainOption(
        QStringLiteral("train"),
        QApplication::translate("main", "Start training at once with the Train page's options."));
    const QCommandLineOption screenshotStepOption(
        QStringLiteral("screenshot-at-step"),
        QApplication::translate("main",
                                "With --train and --screenshot: save the picture when the run reaches step <n>, "
                                "then stop the run (it saves a checkpoint) and quit."),
        QApplication::translate("main", "n"));
    const QCommandLineOption raceOption(
        QStringLiteral("race"),
        QApplication::translate("main", "Start a mixer race at once on the Race page, <steps> steps per mixer (with "
                                        "--screenshot: the picture once the race is over)."),
        QApplication::translate("main", "steps"));
    // Content to open at start, one option per page; each does what the page's own controls would.
    const QCommandLineOption importOption(
        QStringLiteral("import"),
        QApplication::translate("main", "Data page: import the documents in <path> (a file or folder)."),
        QApplication::translate("main", "path"));
    const QCommandLineOption openRunOption(
        QStringLiteral("open-run"),
        QApplication::translate("main", "Show the run in <dir>: its curves on the Train page, selected in the run "
                                        "library (repeatable: the library overlays them)."),
        QApplication::translate("main", "dir"));
    const QCommandLineOption exploreModelOption(
        QStringLiteral("explore-model"),
        QApplication::translate("main", "Explore page: the model (a run or model directory) to inspect with."),
        QApplication::translate("main", "dir"));
    const QCommandLineOption exploreDocumentOption(
        QStringLiteral("explore-document"),
        QApplication::translate("main", "Explore page: open <file> and inspect it (with --explore-model)."),
        QApplication::translate("main", "file"));
    const QCommandLineOption classifyModelOption(
        QStringLiteral("classify-model"),
        QApplication::translate("main", "Classify page: the fine-tuned run (or model directory) to classify with."),
        QApplication::translate("main", "dir"));
    const QCommandLineOption classifyOption(
        QStringLiteral("classify"),
        QApplication::translate("main", "Classify page: classify the documents in <path> (repeatable; with "
                                        "--classify-model)."),
        QApplication::translate("main", "path"));
    const QCommandLineOption modelSectionOption(
        QStringLiteral("model-section"),
        QApplication::translate("main", "Model page: scroll to <part> (configuration, tokenizer or cost)."),
        QApplication::translate("main", "part"));
    const QCommandLineOption trainProcessesOption(
        QStringLiteral("train-processes"),
        QApplication::translate("main",
                                "With --train: a data-parallel run on <n> CPU worker processes (Gloo), started "
                                "through the ponet launcher."),
        QApplication::translate("main", "n"));
    parser.addOptions({pageOption, modelOption, selfTestOption, trainOption, screenshotOption, screenshotStepOption,
                       preferencesOption, listPagesOption, importOption, openRunOption, exploreModelOption,
                       exploreDocumentOption, classifyModelOption, classifyOption, modelSectionOption, raceOption,
                       trainProcessesOption});
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
    // Pictures for the documentation fill the screen (Xvfb at 1280×800), whatever size was saved.
    if (parser.isSet(screenshotOption)) window.setGeometry(window.screen()->availableGeometry());
    window.show();
    if (parser.isSet(selfTestOption)) QTimer::singleShot(0, &window, &ponet::gui::MainWindow::runSelfTest);
    if ((parser.isSet(exploreDocumentOption) && !parser.isSet(exploreModelOption)) ||
        (parser.isSet(classifyOption) && !parser.isSet(classifyModelOption))) {
        std::fprintf(stderr, "%s\n",
                     qPrintable(QApplication::translate(
                         "main", "--explore-document needs --explore-model, and --classify needs --classify-model.")));
        return 2;
    }
    if (parser.isSet(importOption)) window.dataPage()->importPath(parser.value(importOption));
    if (parser.isSet(openRunOption)) {
        QStringList runs;
        for (const QString& r : parser.values(openRunOption)) runs << QFileInfo(r).absoluteFilePath();
        window.trainPage()->openRun(runs.front());
        // The library lists its folder in the background; select the runs once they are listed.
        auto selected = std::make_shared<QMetaObject::Connection>();
        *selected = QObject::connect(window.runLibraryPage(), &ponet::gui::RunLibraryPage::runsChanged, &window,
                                     [&window, runs, selected](int) {
                                         window.runLibraryPage()->selectRuns(runs);
                                         if (!window.runLibraryPage()->selectedRuns().isEmpty())
                                             QObject::disconnect(*selected);
                                     });
        window.runLibraryPage()->selectRuns(runs);
    }
    if (parser.isSet(exploreModelOption)) {
        ponet::gui::ExplorerPage* explorer = window.explorerPage();
        explorer->setModelPath(parser.value(exploreModelOption));
        if (parser.isSet(exploreDocumentOption) && explorer->openDocument(parser.value(exploreDocumentOption)))
            explorer->inspect();
    }
    if (parser.isSet(classifyModelOption)) {
        window.classifyPage()->setModelPath(parser.value(classifyModelOption));
        if (parser.isSet(classifyOption)) window.classifyPage()->classifyPaths(parser.values(classifyOption));
    }
    if (parser.isSet(modelSectionOption)) {
        const QString part = parser.value(modelSectionOption);
        if (!QStringList{QStringLiteral("configuration"), QStringLiteral("tokenizer"), QStringLiteral("cost")}.contains(part)) {
            std::fprintf(stderr, "%s\n",
                         qPrintable(QApplication::translate("main", "--model-section is configuration, tokenizer or cost, not “%1”.")
                                        .arg(part)));
            return 2;
        }
        // Once the page is laid out at the window's size, and again when the model's summary has filled it in.
        QTimer::singleShot(0, &window, [&window, part] { window.modelPage()->showSection(part); });
        QObject::connect(window.modelPage(), &ponet::gui::ModelPage::modelShown, &window,
                         [&window, part] { QTimer::singleShot(0, &window, [&window, part] { window.modelPage()->showSection(part); }); });
    }
    QWidget* pictured = &window;
    if (parser.isSet(preferencesOption)) pictured = window.showPreferences();
    int trainProcesses = 0;
    if (parser.isSet(trainProcessesOption)) {
        bool ok = false;
        trainProcesses = parser.value(trainProcessesOption).toInt(&ok);
        if (!ok || trainProcesses < 2 || !parser.isSet(trainOption)) {
            std::fprintf(stderr, "%s\n",
                         qPrintable(QApplication::translate("main", "--train-processes needs --train and a number of "
                                                                    "at least 2.")));
            return 2;
        }
    }
    if (parser.isSet(trainOption)) {
        QTimer::singleShot(0, &window, [&window, &app, trainProcesses] {
            window.showPage(QStringLiteral("train"));
            ponet::gui::TrainPage* page = window.trainPage();
            if (trainProcesses > 0 &&
                !page->setParallelism(ponet::gui::TrainPage::Parallelism::CpuProcesses, trainProcesses)) {
                std::fprintf(stderr, "%s\n", qPrintable(page->errorText()));
                app.exit(1);
                return;
            }
            if (!page->startTraining() && trainProcesses > 0) {
                std::fprintf(stderr, "%s\n", qPrintable(page->errorText()));
                app.exit(1);
            }
        });
    }

    if (parser.isSet(raceOption)) {
        bool ok = false;
        const int steps = parser.value(raceOption).toInt(&ok);
        if (!ok || steps < 1) {
            std::fprintf(stderr, "%s\n",
                         qPrintable(QApplication::translate("main", "--race needs a number of steps of at least 1.")));
            return 2;
        }
        QTimer::singleShot(0, &window, [&window, steps] {
            window.showPage(QStringLiteral("race"));
            window.racePage()->setBudget(steps);
            window.racePage()->start();
        });
    }

    if (parser.isSet(screenshotStepOption)) {
        // A picture of a run in progress: taken at a given step, after the plots have drawn what arrived.
        bool ok = false;
        const qint64 atStep = parser.value(screenshotStepOption).toLongLong(&ok);
        if (!ok || atStep < 1 || !parser.isSet(screenshotOption) || !parser.isSet(trainOption)) {
            std::fprintf(stderr, "%s\n",
                         qPrintable(QApplication::translate(
                             "main", "--screenshot-at-step needs a step of at least 1, --train and --screenshot.")));
            return 2;
        }
        const QString path = parser.value(screenshotOption);
        ponet::gui::TrainPage* page = window.trainPage();
        auto taken = std::make_shared<bool>(false);
        // progressChanged follows in-process and data-parallel runs alike.
        QObject::connect(page, &ponet::gui::TrainPage::progressChanged, &window,
                         [&window, page, path, atStep, taken](qint64 step, qint64, double, double) {
                             if (*taken || step < atStep) return;
                             *taken = true;
                             for (ponet::gui::MetricPlot* p : page->plots()) p->redrawNow();
                             QTimer::singleShot(100, &window, [&window, page, path] {
                                 const bool saved = window.grab().save(path);
                                 std::fprintf(saved ? stdout : stderr, "%s\n",
                                              qPrintable(saved ? QApplication::translate("main", "saved %1").arg(path)
                                                               : QApplication::translate("main", "could not save %1").arg(path)));
                                 page->stopTraining();
                             });
                         });
        QObject::connect(page, &ponet::gui::TrainPage::runFinished, &app, [&app, taken](const ponet::RunOutcome& o) {
            if (!*taken)
                std::fprintf(stderr, "%s\n",
                             qPrintable(QApplication::translate("main", "the run ended before the screenshot: %1")
                                            .arg(QString::fromStdString(o.message))));
            app.exit(*taken ? 0 : 1);
        });
        return app.exec();
    }

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
