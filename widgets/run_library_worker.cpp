#include "widgets/run_library_worker.h"

#include <QFileInfo>

#include <exception>

#include "core/util/fs_util.h"

namespace ponet::gui {

void RunLibraryWorker::scan(quint64 id, const QString& runsDir) {
    QList<RunRecord> out;
    try {
        for (ponet::RunSummary& s : ponet::list_runs(runsDir.toStdString())) {
            RunRecord r;
            try {
                r.notes = ponet::read_run_notes(s.path);
            } catch (const std::exception& e) {
                r.notesProblem = QString::fromStdString(e.what());
            }
            r.summary = std::move(s);
            out << r;
        }
    } catch (const std::exception&) {
        // A folder that vanished mid-scan lists what was read; the watcher rescans when it settles.
    }
    Q_EMIT scanned(id, out);
}

void RunLibraryWorker::loadDetails(quint64 id, const QStringList& paths) {
    RunDetails d;
    d.paths = paths;
    std::vector<ponet::RunConfig> configs;
    bool allConfigs = true;
    for (const QString& path : paths) {
        const std::string p = path.toStdString();
        d.names << QFileInfo(path).fileName();
        try {
            d.metrics.push_back(ponet::read_run_metrics(p + "/metrics.jsonl"));
            if (d.metrics.back().bad_lines > 0)
                d.problems << tr("%1: %2 lines of metrics.jsonl could not be read")
                                  .arg(d.names.back())
                                  .arg(d.metrics.back().bad_lines);
        } catch (const std::exception& e) {
            d.metrics.emplace_back();
            d.problems << tr("%1: %2").arg(d.names.back(), QString::fromStdString(e.what()));
        }
        try {
            configs.push_back(ponet::RunDirectory::open(p).load_config());
        } catch (const std::exception& e) {
            allConfigs = false;
            d.problems << tr("%1: %2").arg(d.names.back(), QString::fromStdString(e.what()));
        }
    }
    if (allConfigs) d.differences = ponet::diff_run_configs(configs);
    Q_EMIT detailsLoaded(id, d);
}

void RunLibraryWorker::saveNotes(const QString& path, const ponet::RunNotes& notes) {
    try {
        ponet::write_run_notes(path.toStdString(), notes);
        Q_EMIT notesSaved(path, true, QString());
    } catch (const std::exception& e) {
        Q_EMIT notesSaved(path, false, QString::fromStdString(e.what()));
    }
}

void RunLibraryWorker::remove(const QString& path) {
    // Only run folders: a path that is not one (changed under us) is refused, not deleted.
    try {
        ponet::RunDirectory::open(path.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT removed(path, false, QString::fromStdString(e.what()));
        return;
    }
    const bool ok = ponet::remove_tree(path.toStdString());
    Q_EMIT removed(path, ok, ok ? QString() : tr("Some files in %1 could not be deleted.").arg(path));
}

void registerRunLibraryMetaTypes() {
    qRegisterMetaType<RunRecord>();
    qRegisterMetaType<QList<RunRecord>>();
    qRegisterMetaType<RunDetails>();
    qRegisterMetaType<ponet::RunNotes>();
}

}  // namespace ponet::gui
