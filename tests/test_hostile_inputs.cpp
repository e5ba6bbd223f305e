// Hostile files: each is refused (or read within a bound) with a message that says what is wrong, in bounded
// time and memory. Also the regression tests of what the fuzz targets (tests/fuzz) found.
#include <fcntl.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "core/data/importers.h"
#include "core/io/safetensors.h"
#include "core/model/model_config.h"
#include "core/model/model_summary.h"
#include "core/model/ponet_model.h"
#include "core/train/checkpoint.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/train/run_config.h"
#include "core/util/json_limits.h"

using namespace ponet;

namespace {

std::string safetensors_bytes(const std::string& header_json, const std::string& data = {}) {
    std::string out(8, '\0');
    const uint64_t n = header_json.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xFF);
    return out + header_json + data;
}

void write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

std::string nested(size_t depth, const std::string& inner = "1") {
    return std::string(depth, '[') + inner + std::string(depth, ']');
}

// The message of the InvalidInput (or Error) that `f` throws; fails the test when nothing is thrown.
template <class F>
std::string refusal(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "<nothing was thrown>";
}

bool mentions(const std::string& message, const std::string& part) {
    if (message.find(part) != std::string::npos) return true;
    qWarning("message \"%s\" does not mention \"%s\"", message.c_str(), part.c_str());
    return false;
}

}  // namespace

class TestHostileInputs : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void init() { QVERIFY(tmp_.isValid()); }

    // --- safetensors
    void safetensorsHeaderLengthOfATerabyte() {
        std::string bytes(8, '\0');
        const uint64_t tb = 1ull << 40;
        for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((tb >> (8 * i)) & 0xFF);
        bytes += "{}";
        const std::string path = file("tb-header.safetensors", bytes);
        try {
            (void)read_safetensors(path);
            QFAIL("a 1 TB header length was accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::HeaderTooLarge);
            QVERIFY(mentions(e.what(), "1099511627776 bytes"));
        }
    }

    void safetensorsTensorOfTerabytes() {
        // 2^40 float32 elements = 4 TiB, consistent with its offsets, in a 100-byte file.
        const std::string path = file(
            "tb-tensor.safetensors",
            safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}})"));
        try {
            (void)read_safetensors(path);
            QFAIL("a 4 TiB tensor was accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::OffsetsOutOfFile);
            QVERIFY(mentions(e.what(), "tensor 'w'"));
        }
        // A shape whose byte count overflows 64 bits.
        const std::string overflow = file(
            "overflow.safetensors",
            safetensors_bytes(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"));
        try {
            (void)read_safetensors(overflow);
            QFAIL("an overflowing shape was accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::BadShape);
        }
    }

    void safetensorsOffsetsPastTheEnd() {
        const std::string path =
            file("past-end.safetensors",
                 safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, 'x')));
        try {
            (void)read_safetensors(path);
            QFAIL("offsets past the end were accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::OffsetsOutOfFile);
            QVERIFY(mentions(e.what(), "holds 8 bytes"));
        }
    }

    void safetensorsDeeplyNestedHeader() {
        const std::string header = R"({"__metadata__":{"x":)" + nested(100000) + "}}";
        const std::string path = file("bomb.safetensors", safetensors_bytes(header));
        try {
            (void)read_safetensors(path);
            QFAIL("a header nested 100,000 levels deep was accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::HeaderNotJson);
            QVERIFY(mentions(e.what(), "more than 256 levels"));
        }
    }

    // --- JSON bombs in our own formats
    void jsonNestingScanner() {
        QVERIFY(!json_too_deep_at(nested(256)).has_value());
        QCOMPARE(json_too_deep_at(nested(257)).value(), size_t(256));
        // Brackets inside strings (escaped quotes included) do not count.
        QVERIFY(!json_too_deep_at("[\"" + std::string(1000, '[') + "\\\"[[[\"]").has_value());
        QVERIFY(!json_too_deep_at(std::string(100000, ']')).has_value());
    }

    void configJsonBomb() {
        // A deeply nested unknown field used to be copied (recursively) into extra_json and overflow the stack.
        const std::string text = R"({"hidden_size": 64, "x": )" + nested(200000) + "}";
        QVERIFY(mentions(refusal([&] { ModelConfig::from_json_text(text, "bomb/config.json"); }),
                         "bomb/config.json: JSON nested more than 256 levels deep"));
        // A huge flat array in an unknown field is kept, within the file's size.
        std::string array = "{\"x\": [0";
        for (int i = 0; i < 200000; ++i) array += ",0";
        array += "]}";
        const ModelConfig c = ModelConfig::from_json_text(array, "wide/config.json");
        QVERIFY(c.extra_json.size() > 400000);
        // A config.json larger than any real one is refused before it is read whole.
        const std::string big = tmp_.filePath("big-config.json").toStdString();
        {
            const int fd = ::open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
            QVERIFY(fd >= 0);
            QCOMPARE(::ftruncate(fd, off_t(1) << 32), 0);  // a sparse 4 GiB file
            ::close(fd);
        }
        QVERIFY(mentions(refusal([&] { ModelConfig::load(big); }), "more than the limit of 16777216"));
    }

    void runConfigJsonBomb() {
        // Nested objects: apply_object recursed once per level and built ever longer keys.
        std::string deep;
        for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
        deep += "1" + std::string(100000, '}');
        QVERIFY(mentions(refusal([&] { RunConfig::from_json_text(deep, "bomb.json"); }), "more than 256 levels"));
        QVERIFY(mentions(refusal([&] { TrainerState::from_json_text(nested(5000), "trainer_state.json"); }),
                         "more than 256 levels"));
    }

    void jsonlLineBomb() {
        std::string lines = "{\"text\":\"fine\",\"label\":\"a\"}\n";
        lines += "{\"text\":\"deep\",\"label\":" + nested(50000, "\"b\"") + "}\n";
        lines += "{\"text\":\"also fine\",\"label\":\"b\"}\n";
        const auto r = import_documents(file("bomb.jsonl", lines), ImportFormat::Jsonl);
        QCOMPARE(r.documents.size(), size_t(2));
        QCOMPARE(r.report.skipped.size(), size_t(1));
        QVERIFY(mentions(r.report.skipped[0].where + ": " + r.report.skipped[0].reason,
                         "bomb.jsonl line 2: JSON nested more than 256 levels"));
    }

    // --- absurd model sizes are refused before anything is allocated
    void absurdModelSizes_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("1e9 layers") << "num_hidden_layers" << "1000000000" << "more than the limit of 1024";
        QTest::newRow("1e12 vocab") << "vocab_size" << "1000000000000" << "parameters";
        QTest::newRow("huge width") << "hidden_size" << "4000008" << "parameters";
        QTest::newRow("huge positions") << "max_position_embeddings" << "100000000000" << "parameters";
        QTest::newRow("negative width") << "hidden_size" << "-768" << "hidden_size must be positive";
        QTest::newRow("negative layers") << "num_hidden_layers" << "-1" << "num_hidden_layers must be positive";
        QTest::newRow("zero heads") << "num_attention_heads" << "0" << "num_attention_heads must be positive";
        QTest::newRow("int64 overflow") << "intermediate_size" << "9223372036854775807" << "parameters";
        QTest::newRow("past int64") << "vocab_size" << "18446744073709551615" << "not an integer between";
        QTest::newRow("fractional") << "hidden_size" << "64.5" << "not an integer between";
        QTest::newRow("float layers") << "num_hidden_layers" << "1e300" << "not an integer between";
    }
    void absurdModelSizes() {
        QFETCH(QString, field);
        QFETCH(QString, value);
        QFETCH(QString, expected);
        const std::string text = "{\"" + field.toStdString() + "\": " + value.toStdString() + "}";
        const std::string message = refusal([&] { ModelConfig::from_json_text(text, "absurd/config.json"); });
        QVERIFY(mentions(message, "absurd/config.json: "));
        QVERIFY(mentions(message, expected.toStdString()));
    }

    void buildModelRefusesBeforeAllocating() {
        ModelConfig c;  // a struct filled in by code, never read from a file
        c.num_hidden_layers = 1'000'000'000;
        QVERIFY(mentions(refusal([&] { build_model(c, false); }), "num_hidden_layers"));
        c.num_hidden_layers = 12;
        c.vocab_size = 1'000'000'000'000;
        QVERIFY(mentions(refusal([&] { build_model(c, false); }), "parameters"));
        QVERIFY(mentions(refusal([&] { summarize_model(c); }), "parameters"));
    }

    void parameterCountMatchesTheBuiltModel_data() {
        QTest::addColumn<QString>("architecture");
        QTest::addColumn<QString>("mixer");
        QTest::addColumn<bool>("lra");
        QTest::addColumn<int>("classifierHidden");  // LRA: 0 means the feed-forward width
        for (const char* mixer : {"ponet", "fnet", "attention"}) {
            for (const char* arch :
                 {"PoNetModel", "PoNetForPreTraining", "PoNetForMaskedLM", "PoNetForSequenceClassification"})
                QTest::newRow((std::string(arch) + "/" + mixer).c_str()) << arch << mixer << false << 0;
            QTest::newRow((std::string("lra/") + mixer).c_str()) << "PoNetForLraClassification" << mixer << true << 7;
            QTest::newRow((std::string("lra-ffn-wide/") + mixer).c_str())
                << "PoNetForLraClassification" << mixer << true << 0;
        }
    }
    void parameterCountMatchesTheBuiltModel() {
        QFETCH(QString, architecture);
        QFETCH(QString, mixer);
        QFETCH(bool, lra);
        QFETCH(int, classifierHidden);
        ModelConfig c;
        c.architectures = {architecture.toStdString()};
        c.mixer = mixer_kind_from_string(mixer.toStdString());
        c.variant = lra ? ModelVariant::Lra : ModelVariant::Bert;
        c.vocab_size = 50;
        c.hidden_size = 16;
        c.num_hidden_layers = 3;
        c.num_attention_heads = 2;
        c.intermediate_size = 24;
        c.max_position_embeddings = 40;
        c.id2label = {"a", "b", "c"};
        c.pad_token_id = 0;
        c.cls_token_id = 1;
        c.sep_token_id = 2;
        c.mask_token_id = 3;
        c.classifier_hidden = classifierHidden;
        // The summary counts from the configuration; in total and group by group it is what the built model holds.
        const auto counted = summarize_model(c).groups, built = built_parameter_groups(c);
        int64_t builtTotal = 0;
        for (const auto& g : built) builtTotal += g.count;
        QCOMPARE(double(c.parameter_count()), double(builtTotal));
        QCOMPARE(summarize_model(c).total_parameters, builtTotal);
        QCOMPARE(counted.size(), built.size());
        for (size_t i = 0; i < built.size(); ++i) {
            QCOMPARE(QString::fromStdString(counted[i].name), QString::fromStdString(built[i].name));
            QCOMPARE(counted[i].count, built[i].count);
        }
    }

    // --- datasets: bounded time and memory however many lines
    void millionsOfTinyLinesWithALimit() {
        // Two million tiny documents (26 MB); a run that wants 1,000 examples reads about as many.
        const std::string path = tmp_.filePath("tiny-lines.jsonl").toStdString();
        {
            std::FILE* f = std::fopen(path.c_str(), "wb");
            QVERIFY(f);
            for (int i = 0; i < 2'000'000; ++i) std::fputs("{\"text\":\"a\",\"label\":\"x\"}\n", f);
            std::fclose(f);
        }
        ImportOptions o;
        o.max_documents = 1000;
        int64_t seen = 0;
        const auto report = import_documents(path, ImportFormat::Jsonl, o, [&](Document&&) { ++seen; });
        QCOMPARE(seen, int64_t(1000));
        QVERIFY(report.stopped_early);
        QVERIFY(mentions(report.summary(), "reading stopped after 1000 documents"));
    }

    void blankAndBinaryGiants() {
        // 20 million empty lines: nothing to import, skips are listed only up to a bound.
        const std::string blank = tmp_.filePath("blank.jsonl").toStdString();
        {
            std::FILE* f = std::fopen(blank.c_str(), "wb");
            const std::string chunk(1 << 20, '\n');
            for (int i = 0; i < 20; ++i) std::fwrite(chunk.data(), 1, chunk.size(), f);
            std::fputs("{\"text\":\"last\",\"label\":\"x\"}\n", f);
            std::fclose(f);
        }
        const auto r = import_documents(blank, ImportFormat::Jsonl);
        QCOMPARE(r.documents.size(), size_t(1));
        // 20 million lines that are not JSON: the report lists a thousand of them and counts the rest.
        const std::string junk = tmp_.filePath("junk.csv").toStdString();
        {
            std::FILE* f = std::fopen(junk.c_str(), "wb");
            std::fputs("text,label\n", f);
            for (int i = 0; i < 300000; ++i) std::fputs("x\n", f);
            std::fclose(f);
        }
        const auto j = import_documents(junk, ImportFormat::Csv);
        QVERIFY(j.report.skipped.size() <= 1001);
        // A sparse 4 GiB file of zero bytes is recognised as binary from its first kilobytes.
        const std::string sparse = tmp_.filePath("sparse.jsonl").toStdString();
        const int fd = ::open(sparse.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        QVERIFY(fd >= 0);
        QCOMPARE(::ftruncate(fd, off_t(1) << 32), 0);
        ::close(fd);
        const auto s = import_documents(sparse, ImportFormat::Jsonl);
        QCOMPARE(s.documents.size(), size_t(0));
        QVERIFY(mentions(s.report.summary(), "binary file"));
    }

    // --- regressions found by the fuzz targets
    void numbersBeyondDouble() {
        // Found by fuzz_model_config: nlohmann reports 1e405 as out_of_range, not parse_error, and that
        // exception escaped the readers (std::terminate: the app would have crashed on such a config.json).
        QVERIFY(mentions(refusal([] { ModelConfig::from_json_text(R"({"cnns": 1e405})", "c.json"); }),
                         "c.json: not valid JSON"));
        QVERIFY(mentions(refusal([] { RunConfig::from_json_text(R"({"train": {"lr": 1e999}})", "r.json"); }),
                         "r.json: not valid JSON"));
        const std::string path = file("number.safetensors", safetensors_bytes(R"({"__metadata__":{},"x":-1e400})"));
        try {
            (void)read_safetensors(path);
            QFAIL("a header with -1e400 was accepted");
        } catch (const SafetensorsError& e) {
            QCOMPARE(e.code(), StErrc::HeaderNotJson);
            QVERIFY(mentions(e.what(), "number overflow"));
        }
    }

    void idxDimensionsThatWrapAround() {
        // Found by fuzz_import_idx: 65536^4 = 2^64 wrapped to 0, so a 20-byte file matched its "size" and the
        // importer then allocated 2^48-byte images.
        std::string header = {0, 0, 8, 4};
        for (int i = 0; i < 4; ++i) header += std::string{0, 1, 0, 0};  // 65536 each, big-endian
        const auto r = import_documents(file("wrap-images-idx3-ubyte", header), ImportFormat::Idx);
        QCOMPARE(r.documents.size(), size_t(0));
        QVERIFY(mentions(r.report.summary(), "smaller than its header announces (65536 items of 281474976710656 bytes)"));
        // Images of zero pixels are refused rather than imported as empty documents.
        std::string zero = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 28};
        const auto z = import_documents(file("zero-images-idx3-ubyte", zero), ImportFormat::Idx);
        QCOMPARE(z.documents.size(), size_t(0));
        QVERIFY(mentions(z.report.summary(), "0 pixels"));
    }

    void megabyteLongUnknownKey() {
        // Found by fuzz_run_config (100 inputs per second): the did-you-mean search compared a key of any
        // length against every option. A 1 MB key is now reported without a suggestion, at once.
        const std::string key(1 << 20, 'k');
        const std::string message = refusal([&] { RunConfig::from_json_text("{\"" + key + "\": 1}", "r.json"); });
        QVERIFY(mentions(message, "r.json: unknown key 'kkk"));
        QVERIFY(message.find("did you mean") == std::string::npos);
        QCOMPARE(suggest_option("trian.lr"), std::string("train.lr"));
    }

    void sentencePieceModelWithAnEmptyPiece() {
        // Found by fuzz_sentencepiece: SentencePiece's trie builder throws for an empty piece instead of
        // returning a status, and the exception crossed our module's boundary (std::terminate).
        std::string reason;
        if (!sentencepiece_available(&reason)) QSKIP(reason.c_str());
        std::ifstream in(PONET_TEST_SOURCE_DIR "/fixtures/spm-empty-piece.model", std::ios::binary);
        const std::string model((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY(!model.empty());
        QVERIFY(mentions(refusal([&] { SentencePieceTokenizer::from_model(model); }),
                         "not a SentencePiece model: "));
    }

  private:
    std::string file(const std::string& name, const std::string& bytes) {
        const std::string path = tmp_.filePath(QString::fromStdString(name)).toStdString();
        write(path, bytes);
        return path;
    }
    QTemporaryDir tmp_;
};

QTEST_GUILESS_MAIN(TestHostileInputs)
#include "test_hostile_inputs.moc"
