#include "widgets/tokenizer_panel.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>

#include "core/data/tokenizer_training.h"
#include "core/util/error.h"
#include "widgets/inline_message.h"
#include "widgets/number_format.h"
#include "widgets/tokenizer_worker.h"

namespace ponet::gui {
namespace {

constexpr int kSavedRole = Qt::UserRole + 1;  // the item is a tokenizer trained into the tokenizers folder

QString elapsedText(qint64 ms) {
    const qint64 s = ms / 1000;
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

TokenizerPanel::TokenizerPanel(QWidget* parent) : QWidget(parent), worker_(std::make_unique<TokenizerWorker>()) {
    message_ = new InlineMessage(this);
    message_->setObjectName(QStringLiteral("tokenizerMessage"));

    choice_ = new QComboBox(this);
    choice_->setObjectName(QStringLiteral("tokenizerChoice"));
    choice_->setToolTip(tr("The tokenizer a run uses (the run configuration's data.tokenizer)"));
    connect(choice_, &QComboBox::activated, this, [this] {
        choiceNote_->setText(chosenTokenizer().isEmpty()
                                 ? tr("Runs use the model's own vocabulary.")
                                 : tr("Runs use %1.").arg(QDir::toNativeSeparators(chosenTokenizer())));
        Q_EMIT tokenizerChosen(chosenTokenizer());
    });
    choiceNote_ = new QLabel(tr("Runs use the model's own vocabulary."), this);
    choiceNote_->setObjectName(QStringLiteral("tokenizerChoiceNote"));
    choiceNote_->setWordWrap(true);
    choiceNote_->setForegroundRole(QPalette::PlaceholderText);
    choiceNote_->setTextFormat(Qt::PlainText);

    corpus_ = new QLineEdit(this);
    corpus_->setObjectName(QStringLiteral("tokenizerCorpus"));
    corpus_->setPlaceholderText(tr("A text file, or a folder of documents (JSONL, CSV, one file per document…)"));
    corpus_->setClearButtonEnabled(true);
    datasetButton_ = new QPushButton(tr("Data Page's Dataset"), this);
    datasetButton_->setObjectName(QStringLiteral("tokenizerDatasetButton"));
    datasetButton_->setToolTip(tr("Train on the documents imported on the Data page"));
    datasetButton_->setEnabled(false);
    connect(datasetButton_, &QPushButton::clicked, this, [this] { setCorpus(datasetPath_); });
    fileButton_ = new QPushButton(tr("File…"), this);
    connect(fileButton_, &QPushButton::clicked, this, &TokenizerPanel::chooseCorpusFile);
    folderButton_ = new QPushButton(tr("Folder…"), this);
    connect(folderButton_, &QPushButton::clicked, this, &TokenizerPanel::chooseCorpusFolder);

    type_ = new QComboBox(this);
    type_->setObjectName(QStringLiteral("tokenizerType"));
    type_->addItem(tr("Unigram"), QStringLiteral("unigram"));
    type_->addItem(tr("BPE"), QStringLiteral("bpe"));
    type_->setToolTip(tr("SentencePiece's unigram language model, or byte-pair encoding"));
    vocab_ = new QSpinBox(this);
    vocab_->setObjectName(QStringLiteral("tokenizerVocabSize"));
    vocab_->setRange(6, 1000000);
    vocab_->setValue(8000);
    vocab_->setGroupSeparatorShown(true);
    vocab_->setSuffix(tr(" pieces"));
    vocab_->setToolTip(tr("Vocabulary size, the five special tokens ([PAD] [UNK] [CLS] [SEP] [MASK]) included"));
    name_ = new QLineEdit(this);
    name_->setObjectName(QStringLiteral("tokenizerName"));
    name_->setPlaceholderText(tr("e.g. my-corpus-8k"));
    name_->setToolTip(tr("The folder name under which the model is kept (letters, digits, '.', '_', '-')"));

    trainButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Train Tokenizer"), this);
    trainButton_->setObjectName(QStringLiteral("trainTokenizerButton"));
    connect(trainButton_, &QPushButton::clicked, this, &TokenizerPanel::startTraining);
    cancelButton_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("cancelTokenizerButton"));
    cancelButton_->setVisible(false);
    connect(cancelButton_, &QPushButton::clicked, this, &TokenizerPanel::cancel);
    busy_ = new QProgressBar(this);
    busy_->setObjectName(QStringLiteral("tokenizerBusy"));
    busy_->setRange(0, 0);  // SentencePiece reports no progress: a busy bar and the elapsed time
    busy_->setTextVisible(false);
    busy_->setVisible(false);
    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("tokenizerStatus"));
    status_->setWordWrap(true);
    status_->setTextFormat(Qt::PlainText);

    auto* corpusRow = new QHBoxLayout;
    corpusRow->addWidget(corpus_, 1);
    corpusRow->addWidget(datasetButton_);
    corpusRow->addWidget(fileButton_);
    corpusRow->addWidget(folderButton_);
    auto* optionsRow = new QHBoxLayout;
    optionsRow->addWidget(type_);
    optionsRow->addWidget(vocab_);
    auto* nameLabel = new QLabel(tr("&Name:"), this);
    nameLabel->setBuddy(name_);
    optionsRow->addWidget(nameLabel);
    optionsRow->addWidget(name_, 1);
    auto* actionRow = new QHBoxLayout;
    actionRow->addWidget(trainButton_);
    actionRow->addWidget(cancelButton_);
    actionRow->addWidget(busy_, 1);
    actionRow->addStretch(0);

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("&Run tokenizer:"), choice_);
    form->addRow(QString(), choiceNote_);
    auto* trainTitle = new QLabel(tr("Train a SentencePiece model on your corpus:"), this);
    QFont bold = trainTitle->font();
    bold.setBold(true);
    trainTitle->setFont(bold);
    form->addRow(trainTitle);
    form->addRow(tr("&Corpus:"), corpusRow);
    form->addRow(tr("&Model:"), optionsRow);
    form->addRow(QString(), actionRow);
    static_cast<QLabel*>(form->labelForField(corpusRow))->setBuddy(corpus_);
    static_cast<QLabel*>(form->labelForField(optionsRow))->setBuddy(type_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(message_);
    layout->addLayout(form);
    layout->addWidget(status_);

    worker_->moveToThread(&thread_);
    connect(this, &TokenizerPanel::trainRequested, worker_.get(), &TokenizerWorker::train);
    connect(worker_.get(), &TokenizerWorker::progress, this, &TokenizerPanel::onProgress);
    connect(worker_.get(), &TokenizerWorker::finished, this, &TokenizerPanel::onFinished);
    connect(worker_.get(), &TokenizerWorker::failed, this, &TokenizerPanel::onFailed);
    connect(worker_.get(), &TokenizerWorker::cancelled, this, &TokenizerPanel::onCancelled);
    thread_.setObjectName(QStringLiteral("ponet-tokenizer-training"));
    thread_.start();

    tick_.setInterval(500);
    connect(&tick_, &QTimer::timeout, this, &TokenizerPanel::updateElapsed);
    refresh();
}

TokenizerPanel::~TokenizerPanel() {
    worker_->requestCancel();  // kills a training in progress at once
    thread_.quit();
    thread_.wait();
}

void TokenizerPanel::setTokenizersRoot(const QString& root) {
    root_ = root;
    refresh();
}

QString TokenizerPanel::tokenizersRoot() const {
    return root_.isEmpty() ? QString::fromStdString(ponet::tokenizers_dir()) : root_;
}

void TokenizerPanel::setCorpus(const QString& path) {
    corpus_->setText(QDir::toNativeSeparators(path));
    if (name_->text().isEmpty() || name_->isModified() == false) name_->setText(suggestedName());
}

QString TokenizerPanel::corpus() const {
    return QDir::fromNativeSeparators(corpus_->text().trimmed());
}

void TokenizerPanel::setDatasetCorpus(const QString& path, const QString& title) {
    datasetPath_ = path;
    datasetButton_->setEnabled(!path.isEmpty());
    datasetButton_->setToolTip(path.isEmpty() ? tr("Import documents on the Data page first")
                                              : tr("Train on the Data page's dataset: %1 (%2)")
                                                    .arg(title, QDir::toNativeSeparators(path)));
}

void TokenizerPanel::setTrainingOptions(const QString& name, const QString& modelType, int vocabSize) {
    name_->setText(name);
    name_->setModified(true);
    const int t = type_->findData(modelType);
    if (t >= 0) type_->setCurrentIndex(t);
    vocab_->setValue(vocabSize);
}

QString TokenizerPanel::suggestedName() const {
    QString base = QFileInfo(corpus()).completeBaseName();
    base.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
    while (base.startsWith(QLatin1Char('.')) || base.startsWith(QLatin1Char('-'))) base.remove(0, 1);
    if (base.isEmpty()) return {};
    const int v = vocab_->value();
    const QString size = v % 1000 == 0 ? QStringLiteral("%1k").arg(v / 1000) : QString::number(v);
    return QStringLiteral("%1-%2-%3").arg(base.left(40), type_->currentData().toString(), size);
}

void TokenizerPanel::chooseCorpusFile() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Corpus for the Tokenizer"), QFileInfo(corpus()).absolutePath(),
        tr("Text and documents (*.txt *.jsonl *.json *.csv *.tsv);;All files (*)"));
    if (!path.isEmpty()) setCorpus(path);
}

void TokenizerPanel::chooseCorpusFolder() {
    const QString path = QFileDialog::getExistingDirectory(this, tr("Folder of Documents for the Tokenizer"),
                                                           QFileInfo(corpus()).absolutePath());
    if (!path.isEmpty()) setCorpus(path);
}

bool TokenizerPanel::startTraining() {
    if (training_) return false;
    message_->dismiss();
    const QString path = corpus();
    QString problem;
    if (path.isEmpty()) {
        problem = tr("Choose a corpus first: the Data page's dataset, a text file or a folder of documents.");
    } else if (!QFileInfo::exists(path)) {
        problem = tr("The corpus “%1” does not exist.").arg(QDir::toNativeSeparators(path));
    } else {
        try {
            ponet::validate_tokenizer_name(name_->text().trimmed().toStdString());
        } catch (const ponet::Error& e) {
            problem = tr("Cannot train: %1.").arg(QString::fromStdString(e.what()));
        }
        if (problem.isEmpty() && QFileInfo::exists(QDir(tokenizersRoot()).filePath(name_->text().trimmed())))
            problem = tr("A tokenizer named “%1” already exists; choose another name.").arg(name_->text().trimmed());
    }
    if (!problem.isEmpty()) {
        message_->showMessage(InlineMessage::Kind::Error, problem);
        Q_EMIT logMessage(problem);
        return false;
    }
    setTraining(true);
    phaseText_ = tr("Reading the corpus…");
    elapsed_.start();
    updateElapsed();
    worker_->rearm();
    const QString name = name_->text().trimmed();
    Q_EMIT logMessage(tr("Tokenizer: training %1 (%2, %3 pieces) on %4")
                          .arg(name, type_->currentText(), formatCount(vocab_->value()),
                               QDir::toNativeSeparators(path)));
    Q_EMIT trainRequested(path, name, type_->currentData().toString(), vocab_->value(), root_);
    return true;
}

void TokenizerPanel::cancel() {
    if (!training_) return;
    worker_->requestCancel();
    cancelButton_->setEnabled(false);
    phaseText_ = tr("Cancelling…");
    updateElapsed();
}

void TokenizerPanel::setTraining(bool training) {
    training_ = training;
    trainButton_->setVisible(!training);
    cancelButton_->setVisible(training);
    cancelButton_->setEnabled(training);
    busy_->setVisible(training);
    for (QWidget* w : std::initializer_list<QWidget*>{corpus_, datasetButton_, fileButton_, folderButton_, type_,
                                                      vocab_, name_})
        w->setEnabled(!training && (w != datasetButton_ || !datasetPath_.isEmpty()));
    if (training) {
        tick_.start();
    } else {
        tick_.stop();
    }
    Q_EMIT busyChanged(training);
}

void TokenizerPanel::updateElapsed() {
    status_->setText(tr("%1 %2 elapsed").arg(phaseText_, elapsedText(elapsed_.elapsed())));
}

void TokenizerPanel::onProgress(int phase, qint64 documents, qint64 bytes) {
    switch (phase) {
        case 0:
            phaseText_ = tr("Reading the corpus: %1 documents, %2 of text…")
                             .arg(formatCount(documents), formatBytes(bytes));
            break;
        case 1:
            phaseText_ = tr("Training on %1 documents (%2 of text)…").arg(formatCount(documents), formatBytes(bytes));
            break;
        default:
            phaseText_ = tr("Saving…");
            break;
    }
    if (cancelButton_->isEnabled()) updateElapsed();
}

void TokenizerPanel::onFinished(const QString& name, const QString& directory, const QString& modelType,
                                qint64 vocabSize, qint64 lines) {
    const QString took = elapsedText(elapsed_.elapsed());
    setTraining(false);
    refresh();
    chooseTokenizer(directory);
    status_->setText(tr("Trained “%1”: a %2 model of %3 pieces from %4 lines in %5. Runs now use it.")
                         .arg(name, modelType, formatCount(vocabSize), formatCount(lines), took));
    Q_EMIT logMessage(tr("Tokenizer: trained %1 (%2)").arg(name, QDir::toNativeSeparators(directory)));
    Q_EMIT tokenizerChosen(directory);
    Q_EMIT trainingFinished(true, directory);
}

void TokenizerPanel::onFailed(const QString& message) {
    setTraining(false);
    status_->clear();
    const QString text = tr("The tokenizer could not be trained: %1").arg(message);
    message_->showMessage(InlineMessage::Kind::Error, text);
    Q_EMIT logMessage(text);
    Q_EMIT trainingFinished(false, message);
}

void TokenizerPanel::onCancelled() {
    setTraining(false);
    status_->setText(tr("Tokenizer training cancelled; nothing was saved."));
    Q_EMIT logMessage(status_->text());
    Q_EMIT trainingFinished(false, tr("cancelled"));
}

QString TokenizerPanel::chosenTokenizer() const {
    return choice_->currentData().toString();
}

bool TokenizerPanel::chooseTokenizer(const QString& value) {
    int index = choice_->findData(value);
    if (index < 0) {
        // A tokenizer the run configuration names that was not trained here (a vocab.txt, a model elsewhere).
        if (!QFileInfo::exists(value)) return false;
        choice_->addItem(tr("%1 (from the run configuration)").arg(QDir::toNativeSeparators(value)), value);
        index = choice_->count() - 1;
    }
    choice_->setCurrentIndex(index);
    choiceNote_->setText(value.isEmpty() ? tr("Runs use the model's own vocabulary.")
                                         : tr("Runs use %1.").arg(QDir::toNativeSeparators(value)));
    return true;
}

QStringList TokenizerPanel::savedTokenizerDirectories() const {
    QStringList out;
    for (int i = 0; i < choice_->count(); ++i)
        if (choice_->itemData(i, kSavedRole).toBool()) out << choice_->itemData(i).toString();
    return out;
}

QString TokenizerPanel::messageText() const {
    return message_->kind() == InlineMessage::Kind::Error ? message_->text() : QString();
}

QString TokenizerPanel::statusText() const {
    return status_->text();
}

void TokenizerPanel::refresh() {
    const QString current = choice_->count() > 0 ? chosenTokenizer() : QString();
    const QSignalBlocker blocker(choice_);
    choice_->clear();
    choice_->addItem(tr("The model's own vocabulary"), QString());
    choice_->addItem(tr("Bytes (LRA tasks)"), QStringLiteral("byte"));
    for (const ponet::SavedTokenizer& t : ponet::list_saved_tokenizers(root_.toStdString())) {
        const QString dir = QString::fromStdString(t.directory);
        choice_->addItem(tr("%1 — %2, %3 pieces")
                             .arg(QString::fromStdString(t.name), QString::fromStdString(t.model_type),
                                  formatCount(t.vocab_size)),
                         dir);
        choice_->setItemData(choice_->count() - 1, true, kSavedRole);
        choice_->setItemData(choice_->count() - 1,
                             tr("Trained on %1 (%2 lines), %3")
                                 .arg(QDir::toNativeSeparators(QString::fromStdString(t.corpus)),
                                      formatCount(t.lines), QString::fromStdString(t.created_at)),
                             Qt::ToolTipRole);
    }
    if (!chooseTokenizer(current)) chooseTokenizer(QString());
}

}  // namespace ponet::gui
