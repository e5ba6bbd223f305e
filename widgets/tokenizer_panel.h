// The Model page's tokenizer panel: which tokenizer a run uses (the model's own, bytes, or a SentencePiece
// model trained here), and training a new SentencePiece model (unigram or BPE, a vocabulary size) on a corpus:
// the Data page's dataset, or a file or folder the user picks. Training runs on a worker thread with a busy
// indicator, the elapsed time and Cancel; the model is kept under a name in the application's tokenizers
// folder, listed afterwards, and becomes the run's tokenizer (data.tokenizer).
#pragma once
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>
#include <QWidget>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace ponet::gui {

class InlineMessage;
class TokenizerWorker;

class TokenizerPanel : public QWidget {
    Q_OBJECT
  public:
    explicit TokenizerPanel(QWidget* parent = nullptr);
    ~TokenizerPanel() override;

    // Where trained tokenizers are kept and listed; empty (the default): ponet::tokenizers_dir().
    void setTokenizersRoot(const QString& root);
    QString tokenizersRoot() const;

    // The corpus to train on: a file or a folder of documents.
    void setCorpus(const QString& path);
    QString corpus() const;
    // The Data page's dataset (a file or folder), offered as the corpus; empty path: none.
    void setDatasetCorpus(const QString& path, const QString& title);
    void setTrainingOptions(const QString& name, const QString& modelType, int vocabSize);

    // Starts training; false, with the reason shown, when the form does not allow it.
    bool startTraining();
    void cancel();
    bool isTraining() const { return training_; }

    // The run's tokenizer as data.tokenizer: "" (the model's own), "byte", or a trained model's folder.
    QString chosenTokenizer() const;
    // Selects `value`; an existing file or folder that is not listed is added. False when it cannot be shown.
    bool chooseTokenizer(const QString& value);
    QStringList savedTokenizerDirectories() const;
    QString messageText() const;
    QString statusText() const;
    void refresh();  // rereads the tokenizers folder

  Q_SIGNALS:
    void tokenizerChosen(const QString& value);
    void trainingFinished(bool ok, const QString& directoryOrMessage);
    void busyChanged(bool busy);
    void logMessage(const QString& text);
    // Internal: the queued command to the worker.
    void trainRequested(const QString& corpus, const QString& name, const QString& modelType, qint64 vocabSize,
                        const QString& outputRoot);

  private:
    void setTraining(bool training);
    void updateElapsed();
    void onProgress(int phase, qint64 documents, qint64 bytes);
    void onFinished(const QString& name, const QString& directory, const QString& modelType, qint64 vocabSize,
                    qint64 lines);
    void onFailed(const QString& message);
    void onCancelled();
    void chooseCorpusFile();
    void chooseCorpusFolder();
    QString suggestedName() const;

    QString root_;
    QString datasetPath_;
    bool training_ = false;
    QString phaseText_;

    QComboBox* choice_ = nullptr;
    QLabel* choiceNote_ = nullptr;
    QLineEdit* corpus_ = nullptr;
    QPushButton* datasetButton_ = nullptr;
    QPushButton* fileButton_ = nullptr;
    QPushButton* folderButton_ = nullptr;
    QComboBox* type_ = nullptr;
    QSpinBox* vocab_ = nullptr;
    QLineEdit* name_ = nullptr;
    QPushButton* trainButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QProgressBar* busy_ = nullptr;
    QLabel* status_ = nullptr;
    InlineMessage* message_ = nullptr;

    QElapsedTimer elapsed_;
    QTimer tick_;
    QThread thread_;
    std::unique_ptr<TokenizerWorker> worker_;
};

}  // namespace ponet::gui
