#include "widgets/model_source.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <exception>

#include "core/util/error.h"
#include "core/util/paths.h"

namespace ponet::gui {
namespace {

const char kConfigFile[] = "config.json";
const char kWeightsFile[] = "model.safetensors";
// A config.json is a few kB; anything this large is not one, and reading it would stall the GUI.
constexpr qint64 kMaxConfigBytes = 4 * 1024 * 1024;

QString tr(const char* text) {
    return QCoreApplication::translate("ponet::gui::ModelSource", text);
}

[[noreturn]] void fail(const QString& message) {
    throw ponet::Error(message.toStdString());
}

}  // namespace

QString builtinModelsDirectory() {
    const QString resources = QString::fromStdString(ponet::resources_dir());
    if (resources.isEmpty()) return {};
    const QString dir = QDir(resources).filePath(QStringLiteral("models"));
    return QFileInfo(dir).isDir() ? QDir::cleanPath(dir) : QString();
}

QList<BuiltinModel> builtinModels() {
    QList<BuiltinModel> models;
    const QString root = builtinModelsDirectory();
    if (root.isEmpty()) return models;
    const QDir dir(root);
    for (const QString& name : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        // Canonical, like readModelSource(), so a built-in shape is recognised whatever path led to it.
        const QString sub = QFileInfo(dir.filePath(name)).canonicalFilePath();
        if (QFileInfo(QDir(sub).filePath(kConfigFile)).isFile()) models.append({name, sub});
    }
    return models;
}

bool looksLikeModelSource(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return QFileInfo(QDir(path).filePath(kConfigFile)).isFile();
    return info.isFile() && info.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0;
}

ModelSource readModelSource(const QString& path) {
    const QFileInfo given(path);
    if (path.trimmed().isEmpty()) fail(tr("No model directory was given."));
    if (!given.exists()) fail(tr("“%1” does not exist.").arg(QDir::toNativeSeparators(path)));

    ModelSource source;
    if (given.isDir()) {
        source.directory = given.canonicalFilePath();
        source.configPath = QDir(source.directory).filePath(kConfigFile);
        if (!QFileInfo(source.configPath).isFile()) {
            fail(tr("“%1” holds no config.json. A model directory needs a config.json, and optionally the "
                    "weights in model.safetensors.")
                     .arg(QDir::toNativeSeparators(source.directory)));
        }
    } else {
        source.configPath = given.canonicalFilePath();
        source.directory = given.canonicalPath();
    }
    source.name = QFileInfo(source.directory).fileName();

    QFile file(source.configPath);
    if (file.size() > kMaxConfigBytes) {
        fail(tr("“%1” is %2 bytes long; a config.json is a small JSON file.")
                 .arg(QDir::toNativeSeparators(source.configPath))
                 .arg(file.size()));
    }
    if (!file.open(QIODevice::ReadOnly)) {
        fail(
            tr("Cannot read “%1”: %2.").arg(QDir::toNativeSeparators(source.configPath), file.errorString()));
    }
    source.configText = QString::fromUtf8(file.readAll());

    try {
        source.config = ponet::ModelConfig::from_json_text(source.configText.toStdString(),
                                                           source.configPath.toStdString());
        source.config.validate();
    } catch (const ponet::Error& e) {
        fail(QString::fromStdString(e.what()));
    } catch (const std::exception& e) {
        // A parser error that escaped the core's wrapping still deserves the file's name.
        fail(tr("%1: %2").arg(QDir::toNativeSeparators(source.configPath), QString::fromStdString(e.what())));
    }

    const QFileInfo weights(QDir(source.directory).filePath(kWeightsFile));
    if (weights.isFile()) source.weightsBytes = weights.size();
    return source;
}

}  // namespace ponet::gui
