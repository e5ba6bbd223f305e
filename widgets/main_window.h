// PoNet Studio's main window: page navigation, the compute-device choice, the log, menus and settings.
#pragma once
#include <QMainWindow>
#include <QStringList>
#include <QStyle>

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QListWidget;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QStackedWidget;

namespace ponet::gui {

class ExplorerPage;
class BenchmarkPage;
class ClassifyPage;
class DataPage;
class ModelPage;
class RunLibraryPage;
class PreferencesDialog;
class RacePage;
class SelfTestPage;
class TrainPage;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    struct Options {
        QString page;       // a page id (see pageIds()); empty: the page shown last time
        QString modelPath;  // a model directory or config.json to open instead of the last model
    };

    explicit MainWindow(const Options& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    static QStringList pageIds();  // in navigation order: "data", "model", "train", "runs", "explore", "benchmark", "race", "classify", "selftest"
    QString currentPage() const;
    void showPage(const QString& id);  // unknown ids are ignored

    DataPage* dataPage() const { return dataPage_; }
    ModelPage* modelPage() const { return modelPage_; }
    RunLibraryPage* runLibraryPage() const { return runLibraryPage_; }
    SelfTestPage* selfTestPage() const { return selfTestPage_; }
    ExplorerPage* explorerPage() const { return explorerPage_; }
    BenchmarkPage* benchmarkPage() const { return benchmarkPage_; }
    ClassifyPage* classifyPage() const { return classifyPage_; }
    RacePage* racePage() const { return racePage_; }
    TrainPage* trainPage() const { return trainPage_; }
    QString computeDevice() const;  // the device id: "cpu", "cuda:0", ...
    QStringList recentRuns() const;
    QString logText() const;

    // True while a page computes something whose result will change what the window shows.
    bool isBusy() const;

    void runSelfTest();  // shows the Self-test page and starts a run
    PreferencesDialog* showPreferences();  // opens the Preferences dialog (versions, folders, runs folder)

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void createPages();
    // One navigation entry and its page; `id` must be listed in pageIds() at the same position.
    void addPage(const QString& id, const QString& title, QStyle::StandardPixmap icon, const QString& tip,
                 QWidget* page);
    void createActions();
    void createMenus();
    void createToolBar();
    void createLogDock();
    void restoreSettings(const Options& options);
    void saveWindowSettings();
    void appendLog(const QString& text);
    void onModelShown(const QString& name, const QString& directory);
    void onComputeDeviceChanged(int index);
    void showAbout();
    void createStatusBar();
    void connectTrainPage();
    void rememberRun(const QString& dir);
    void updateRecentRunsMenu();
    void openRunFolder();

    QStringList devices_;
    QListWidget* pageList_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    DataPage* dataPage_ = nullptr;
    ModelPage* modelPage_ = nullptr;
    RunLibraryPage* runLibraryPage_ = nullptr;
    SelfTestPage* selfTestPage_ = nullptr;
    ExplorerPage* explorerPage_ = nullptr;
    BenchmarkPage* benchmarkPage_ = nullptr;
    ClassifyPage* classifyPage_ = nullptr;
    RacePage* racePage_ = nullptr;
    TrainPage* trainPage_ = nullptr;
    QComboBox* deviceCombo_ = nullptr;
    QLabel* activeRun_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* etaStatus_ = nullptr;
    QLabel* speedStatus_ = nullptr;
    QMenu* recentRunsMenu_ = nullptr;
    QAction* openRunAction_ = nullptr;
    QDockWidget* logDock_ = nullptr;
    QPlainTextEdit* log_ = nullptr;
    QLabel* modelStatus_ = nullptr;
    QLabel* deviceStatus_ = nullptr;

    QAction* openModelAction_ = nullptr;
    QAction* quitAction_ = nullptr;
    QAction* runSelfTestAction_ = nullptr;
    QAction* cancelSelfTestAction_ = nullptr;
    QAction* preferencesAction_ = nullptr;
    QAction* aboutAction_ = nullptr;
    QAction* aboutQtAction_ = nullptr;
    QList<QAction*> pageActions_;
    bool restoring_ = true;  // settings are written only after the initial state has been restored
    bool closeAfterStop_ = false;  // a close waits for the run's stop checkpoint, then closes
};

}  // namespace ponet::gui
