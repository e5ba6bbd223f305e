// The value types the Data page and its worker thread pass to each other in queued signals: a loaded dataset
// (documents shared read-only between the threads), what to generate, which tokenizer measures lengths.
#pragma once
#include <QMetaType>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/data/document.h"
#include "core/data/importers.h"
#include "core/data/recipes.h"

namespace ponet::gui {

// Where the documents on the Data page came from; it decides the data section a run gets.
enum class DatasetOrigin { None, Import, Recipe, ListOps, Pathfinder };

struct GenerateRequest {
    DatasetOrigin kind = DatasetOrigin::ListOps;  // ListOps or Pathfinder
    qint64 count = 2000;                          // training examples (the run adds dev and test tenths)
    qint64 seed = 0;
    qint64 maxLength = 512;  // ListOps: the longest tree in tokens (without parentheses)
    qint64 imageSize = 32;   // Pathfinder: the canvas side in pixels
};

struct LoadedDataset {
    DatasetOrigin origin = DatasetOrigin::None;
    QString name;  // shown in the page's title: a file name, a recipe name, "ListOps"
    QString path;  // Import: the imported file or folder; Recipe: the recipe name
    ponet::ImportFormat format = ponet::ImportFormat::Auto;  // Import: the format actually read
    ponet::ImportOptions options;                            // Import: the fields it was read with
    GenerateRequest generated;                               // ListOps and Pathfinder
    bool images = false;  // documents hold pixel bytes, not text (IDX, CIFAR, Pathfinder)
    std::shared_ptr<const std::vector<ponet::Document>> documents;
    // Token lengths known when the data was made (generated tasks have fixed vocabularies); empty otherwise.
    std::vector<int64_t> lengths;
    ponet::ImportReport report;
};

// Which tokenizer measures document lengths; it is also the data.tokenizer a run gets.
struct TokenizerChoice {
    enum class Kind { Bert, Bytes, File } kind = Kind::Bert;
    QString path;  // File: a vocab.txt, a SentencePiece .model or a tokenizer folder
    bool lowercase = true;
};

void registerDatasetMetaTypes();

}  // namespace ponet::gui

Q_DECLARE_METATYPE(ponet::gui::LoadedDataset)
Q_DECLARE_METATYPE(ponet::gui::GenerateRequest)
Q_DECLARE_METATYPE(ponet::gui::TokenizerChoice)
Q_DECLARE_METATYPE(ponet::ImportOptions)
Q_DECLARE_METATYPE(ponet::DatasetStatus)
