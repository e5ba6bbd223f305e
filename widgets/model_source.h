// Where model shapes come from: the built-in ones under <resources>/models, or a directory the user opens.
#pragma once
#include <QList>
#include <QString>

#include "core/model/model_config.h"

namespace ponet::gui {

struct BuiltinModel {
    QString name;       // the directory's name, e.g. "ponet-base-uncased"
    QString directory;  // absolute path
};

// The directory that holds the built-in shapes; empty when the resources are missing.
QString builtinModelsDirectory();

// Every <resources>/models/<name>/config.json, sorted by name. Read at run time so new shapes need no
// rebuild.
QList<BuiltinModel> builtinModels();

// A model as read from disk: its configuration plus what the page shows around it.
struct ModelSource {
    QString name;       // the directory's name
    QString directory;  // absolute, canonical
    QString configPath;
    QString configText;        // config.json verbatim
    qint64 weightsBytes = -1;  // size of model.safetensors; -1 when the directory holds a shape only
    ponet::ModelConfig config;
};

// Reads a model directory, or a config.json (its directory is the model directory).
// Throws ponet::Error with a message a user can act on.
ModelSource readModelSource(const QString& path);

// True when `path` looks like something readModelSource() accepts; cheap, for drag-and-drop feedback.
bool looksLikeModelSource(const QString& path);

}  // namespace ponet::gui
