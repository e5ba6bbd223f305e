// PoNet Studio's main window: page navigation, the compute-device choice, the log, menus and settings.
#pragma once
#include <QMainWindow>
#include <QStringList>

class QAction;
class QComboBox;
class QDockWidget;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QStackedWidget;

namespace ponet::gui {

class ExplorerPage;
class BenchmarkPage;
class DataPage;
class ModelPage;
class RunLibraryPage;
class PreferencesDialog;
class SelfTestPage;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    struct Options {
        QString page;       // a page id (see pageIds()); empty: the page shown last time
        QString modelPath;  // a model directory or config.json to open instead of the last model
    };

    explicit MainWindow(const Options& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    static QStringList pageIds();  // "data", "model", "runs", "selftest", "explore", "benchmark"
    QString currentPage() const;
    void showPage(const QString& id);  // unknown ids are ignored

    DataPage* dataPage() const { return dataPage_; }
    ModelPage* modelPage() const { return modelPage_; }
    RunLibraryPage* runLibraryPage() const { return runLibraryPage_; }
    SelfTestPage* selfTestPage() const { return selfTestPage_; }
    ExplorerPage* explorerPage() const { return explorerPage_; }
    BenchmarkPage* benchmarkPage() const { return benchmarkPage_; }
    QString computeDevice() const;
    QString logText() const;

    // True while a page computes something whose result will change what the window shows.
    bool isBusy() const;

    void runSelfTest();  // shows the Self-test page and starts a run
    PreferencesDialog* showPreferences();  // opens the Preferences dialog (versions, folders, runs folder)

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void createPages();
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

    QStringList devices_;
    QListWidget* pageList_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    DataPage* dataPage_ = nullptr;
    ModelPage* modelPage_ = nullptr;
    RunLibraryPage* runLibraryPage_ = nullptr;
    SelfTestPage* selfTestPage_ = nullptr;
    ExplorerPage* explorerPage_ = nullptr;
    BenchmarkPage* benchmarkPage_ = nullptr;
    QComboBox* deviceCombo_ = nullptr;
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
};

}  // namespace ponet::gui
