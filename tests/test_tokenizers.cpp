// Tests of the tokenizers: WordPiece against Hugging Face's ids (fixture) and hand-checked cases, the UTF-8
// decoder and Unicode tables, SentencePiece through its dlopen'ed module inside a process that links
// LibTorch, bytes and pixels, load_tokenizer, and robustness on random bytes.
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/io/atomic_file.h"
#include "core/text/byte_tokenizer.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/text/wordpiece.h"
#include "core/util/error.h"

using ponet::EncodeStats;
using ponet::WordPieceTokenizer;
namespace u = ponet::unicode;

namespace {

const std::string kVocab = PONET_SHARED_DIR "/datasets/bert-base-uncased-vocab.txt";
const std::string kFixtures = PONET_TEST_SOURCE_DIR "/fixtures";

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& t : v) s += (s.empty() ? "" : " ") + t;
    return s;
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// The input of a fixture entry: a string, or {"hex": ...} for bytes that are not valid UTF-8.
std::string fixture_input(const nlohmann::json& item) {
    return item.is_object() ? from_hex(item.at("hex").get<std::string>()) : item.get<std::string>();
}

}  // namespace

class TestTokenizers : public QObject {
    Q_OBJECT

  private:
    std::unique_ptr<WordPieceTokenizer> bert_;

  private Q_SLOTS:
    void initTestCase() {
        bert_ = WordPieceTokenizer::from_file(kVocab);
        QCOMPARE(bert_->vocab_size(), int64_t{30522});
    }

    void utf8MaximalSubparts_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("replacements");  // U+FFFD count, as Python's decode(errors='replace')
        QTest::addColumn<int>("replacedBytes");
        QTest::newRow("valid euro") << QByteArray("\xe2\x82\xac") << 0 << 0;
        QTest::newRow("lone ff") << QByteArray("\xff") << 1 << 1;
        QTest::newRow("overlong slash") << QByteArray("\xc0\xaf") << 2 << 2;
        QTest::newRow("overlong 3-byte") << QByteArray("\xe0\x80\xaf") << 3 << 3;
        QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << 3 << 3;
        QTest::newRow("past U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << 4 << 4;
        QTest::newRow("overlong 4-byte") << QByteArray("\xf0\x80\x80\x80") << 4 << 4;
        QTest::newRow("truncated 3-byte") << QByteArray("\xe2\x82") << 1 << 2;
        QTest::newRow("truncated emoji") << QByteArray("\xf0\x9f\x98") << 1 << 3;
        QTest::newRow("truncated inside text") << QByteArray(
                                                      "a\xe2\x82"
                                                      "Ab")
                                               << 1 << 2;
        QTest::newRow("lead then ASCII") << QByteArray(
                                                "\xc2"
                                                "A")
                                         << 1 << 1;
        QTest::newRow("two truncations") << QByteArray("\xf1\x80\x80\xe1\x80\xc2") << 3 << 6;
        QTest::newRow("lone continuations") << QByteArray("\x80\xbf") << 2 << 2;
    }
    void utf8MaximalSubparts() {
        QFETCH(QByteArray, bytes);
        QFETCH(int, replacements);
        QFETCH(int, replacedBytes);
        const std::string in(bytes.constData(), static_cast<size_t>(bytes.size()));
        std::u32string cps;
        QCOMPARE(static_cast<int>(u::decode_utf8(in, cps)), replacedBytes);
        QCOMPARE(static_cast<int>(std::count(cps.begin(), cps.end(), u::kReplacementChar)), replacements);
        int64_t counted = 0;
        const std::string clean = u::sanitize_utf8(in, &counted);
        QCOMPARE(counted, int64_t{replacedBytes});
        QCOMPARE(clean, u::encode_utf8(cps));
        std::u32string again;
        QCOMPARE(u::decode_utf8(clean, again), size_t{0});  // the output is always valid UTF-8
        QVERIFY(again == cps);
    }

    void unicodeProperties() {
        QCOMPARE(std::string(u::unicode_version()), std::string("14.0.0"));
        for (char32_t c : {U'!', U'$', U'+', U'^', U'`', U'~', U'¿', U'、', U'。', U'«', U'‐'})
            QVERIFY2(u::is_bert_punctuation(c), std::to_string(c).c_str());
        for (char32_t c : {U'a', U'€', U'©', U'中', U' '}) QVERIFY(!u::is_bert_punctuation(c));
        QVERIFY(u::is_bert_whitespace(U'\u3000') && u::is_bert_whitespace(U'\t') &&
                u::is_bert_whitespace(U'\u00a0'));
        QVERIFY(!u::is_bert_whitespace(U'\u2028') && u::is_python_space(U'\u2028'));
        for (char32_t c : {U'\u0000', U'\u0007', U'\u200b', U'\ufeff', U'\ue000', U'\u0085'})
            QVERIFY(u::is_bert_control(c));
        QVERIFY(!u::is_bert_control(U'\n') && !u::is_bert_control(U'\t'));
        QVERIFY(u::is_cjk_ideograph(U'中') && u::is_cjk_ideograph(U'\U00020000') &&
                u::is_cjk_ideograph(U'\uF900'));
        QVERIFY(!u::is_cjk_ideograph(U'あ') && !u::is_cjk_ideograph(U'한') && !u::is_cjk_ideograph(U'ア'));

        std::u32string low;
        for (char32_t c : std::u32string(U"ÀΣİẞǅКΩ")) u::append_lower(c, low);
        QVERIFY(low == U"àσi\u0307ßǆкω");  // per code point: no final sigma, İ → i + combining dot

        std::u32string s = U"ångström naïve ǖ ῼ";
        u::strip_accents(s);
        QVERIFY(s == U"angstrom naive u Ω");  // stripping alone keeps case
        s = U"한";  // Hangul decomposes by formula into conjoining jamo, which are letters and stay
        u::strip_accents(s);
        QVERIFY(s == U"\u1112\u1161\u11ab");
        s = U"\U0001D16D\U0001D165";  // two spacing marks with nonzero classes: canonical order swaps them
        u::strip_accents(s);
        QVERIFY(s == U"\U0001D165\U0001D16D");
    }

    void wordpieceHandChecked_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("tokens");
        QTest::addColumn<QString>("ids");
        QTest::newRow("hello world") << QByteArray("Hello, World!") << "hello , world !"
                                     << "7592 1010 2088 999";
        QTest::newRow("unaffable") << QByteArray("unaffable") << "una ##ffa ##ble"
                                   << "14477 20961 3468";
        QTest::newRow("accent") << QByteArray("Café") << "cafe"
                                << "7668";
        QTest::newRow("combining accents") << QByteArray(
                                                  "e\xcc\x81"
                                                  "e\xcc\x81")
                                           << "ee"
                                           << "25212";
        QTest::newRow("NUL inside a word") << QByteArray("null\0byte", 9) << "null ##by ##te"
                                           << "19701 3762 2618";
        QTest::newRow("CJK split out") << QByteArray("abc中def") << "abc 中 def"
                                       << "5925 1746 13366";
        QTest::newRow("emoji") << QByteArray("😀") << "[UNK]"
                               << "100";
        QTest::newRow("invalid byte dropped") << QByteArray(
                                                     "ab\xff"
                                                     "cd")
                                              << "abc ##d"
                                              << "5925 2094";
        QTest::newRow("special tokens in text") << QByteArray("[CLS] a [SEP]") << "[CLS] a [SEP]"
                                                << "101 1037 102";
        QTest::newRow("lower-case special is text") << QByteArray("[mask]") << "[ mask ]"
                                                    << "1031 7308 1033";
        QTest::newRow("hangul to jamo") << QByteArray("한") << "ᄒ ##ᅡ ##ᆫ"
                                        << "1469 30006 30021";
        QTest::newRow("dotted capital I") << QByteArray("İstanbul") << "istanbul"
                                          << "9960";
        QTest::newRow("greek final sigma not applied") << QByteArray("ΣΊΣΥΦΟΣ") << "σ ##ι ##σ ##υ ##φ ##ο ##σ"
                                                       << "1173 18199 29733 29735 29736 29730 29733";
        QTest::newRow("empty") << QByteArray("") << ""
                               << "";
        QTest::newRow("whitespace only") << QByteArray(" \t\r\n\xe3\x80\x80") << ""
                                         << "";
    }
    void wordpieceHandChecked() {
        QFETCH(QByteArray, text);
        QFETCH(QString, tokens);
        QFETCH(QString, ids);
        const std::string in(text.constData(), static_cast<size_t>(text.size()));
        QCOMPARE(QString::fromStdString(join(bert_->tokenize(in))), tokens);
        std::string id_text;
        for (int64_t id : bert_->encode(in)) id_text += (id_text.empty() ? "" : " ") + std::to_string(id);
        QCOMPARE(QString::fromStdString(id_text), ids);
    }

    void wordpieceLongWords() {
        // The 100-character limit counts code points after lower-casing and accent stripping.
        const auto a100 = bert_->encode(std::string(100, 'a'));
        QCOMPARE(a100.size(), size_t{50});  // "aaa", 48 × "##aa", "##a"
        QCOMPARE(a100.front(), int64_t{13360});
        QCOMPARE(a100.back(), int64_t{2050});
        QCOMPARE(bert_->encode(std::string(101, 'a')), std::vector<int64_t>{100});
        std::string e_acute;
        for (int i = 0; i < 60; ++i) e_acute += "e\xcc\x81";  // 120 code points in, 60 after stripping
        QCOMPARE(bert_->encode(e_acute).front(), bert_->token_to_id("ee"));  // not [UNK]
        std::string wide;
        for (int i = 0; i < 101; ++i) wide += "\xc3\xa9";  // 101 × é: 202 bytes, 101 code points
        QCOMPARE(bert_->encode(wide), std::vector<int64_t>{100});
        QCOMPARE(bert_->encode(std::string(100, 'a') + "." + std::string(101, 'b')).back(), int64_t{100});
    }

    void wordpieceSpecialsAndDecode() {
        const auto s = bert_->special_tokens();
        QCOMPARE(s.pad, int64_t{0});
        QCOMPARE(s.unk, int64_t{100});
        QCOMPARE(s.cls, int64_t{101});
        QCOMPARE(s.sep, int64_t{102});
        QCOMPARE(s.mask, int64_t{103});
        QCOMPARE(bert_->decode(bert_->encode("Hello, unaffable World!")),
                 std::string("hello , unaffable world !"));
        QCOMPARE(bert_->decode({0, 101, 7592, 0}), std::string("[CLS] hello"));
        QCOMPARE(bert_->id_to_token(7592), std::string("hello"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, bert_->decode({30522}));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, bert_->id_to_token(-1));
        EncodeStats stats;
        bert_->encode("ok \xff\xfe \xe2\x82", &stats);
        QCOMPARE(stats.replaced_bytes, int64_t{4});
        WordPieceTokenizer cased({"[UNK]", "Hello", "hello", ",", "é"}, /*lowercase=*/false);
        QCOMPARE(cased.encode("Hello, hello é"), (std::vector<int64_t>{1, 3, 2, 4}));
        QCOMPARE(cased.special_tokens().cls, int64_t{-1});
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, WordPieceTokenizer({"a", "b"}));
    }

    // The parity test proper. wordpiece_expected.json comes from Hugging Face's BertTokenizer via
    // tests/fixtures/make_wordpiece_fixture.py; it must exist, so a checkout without it fails here.
    void wordpieceMatchesHuggingFace() {
        const std::string inputs_path = kFixtures + "/wordpiece_inputs.json";
        const std::string expected_path = kFixtures + "/wordpiece_expected.json";
        const auto inputs = nlohmann::json::parse(ponet::read_file(inputs_path)).at("inputs");
        QVERIFY2(inputs.size() >= 200, "the fixture must hold at least 200 inputs");
        std::ifstream probe(expected_path);
        QVERIFY2(probe.good(),
                 "tests/fixtures/wordpiece_expected.json is missing: generate it with Hugging Face "
                 "(python3 tests/fixtures/make_wordpiece_fixture.py "
                 "../shared/datasets/bert-base-uncased-vocab.txt)");
        const auto expected = nlohmann::json::parse(ponet::read_file(expected_path));
        QVERIFY2(expected.at("inputs") == inputs,
                 "wordpiece_expected.json was made from other inputs: run make_wordpiece_fixture.py again");
        const auto& cases = expected.at("expected");
        QCOMPARE(cases.size(), inputs.size());
        qInfo("reference: %s, Unicode %s (ours %s)", expected.value("reference", std::string("?")).c_str(),
              expected.value("unicode", std::string("?")).c_str(), u::unicode_version());
        int failures = 0;
        for (size_t i = 0; i < inputs.size(); ++i) {
            const std::string text = fixture_input(inputs[i]);
            const auto want = cases[i].at("ids").get<std::vector<int64_t>>();
            const auto got = bert_->encode(text);
            if (got == want) continue;
            if (++failures <= 10)
                qWarning("input %zu %s: got [%s], Hugging Face [%s]", i, inputs[i].dump().c_str(),
                         join(bert_->tokenize(text)).c_str(),
                         join(cases[i].at("tokens").get<std::vector<std::string>>()).c_str());
        }
        QCOMPARE(failures, 0);
    }

    void randomBytesNeverCrash() {
        std::mt19937 rng(1234);
        std::uniform_int_distribution<int> len(0, 64), byte(0, 255), pick(0, 3);
        static const char* fragments[] = {"\xe2\x82", "[CLS]", "\xf0\x9f\x98\x80", "e\xcc\x81"};
        for (int n = 0; n < 10000; ++n) {
            std::string s;
            const int l = len(rng);
            for (int i = 0; i < l; ++i) {
                if (byte(rng) < 16)
                    s += fragments[pick(rng)];
                else
                    s.push_back(static_cast<char>(byte(rng)));
            }
            EncodeStats stats;
            const auto ids = bert_->encode(s, &stats);
            const auto tokens = bert_->tokenize(s);
            QCOMPARE(tokens.size(), ids.size());
            for (size_t i = 0; i < ids.size(); ++i) {
                QVERIFY(ids[i] >= 0 && ids[i] < bert_->vocab_size());
                QCOMPARE(tokens[i], bert_->id_to_token(ids[i]));
            }
            std::u32string cps;
            QCOMPARE(stats.replaced_bytes, static_cast<int64_t>(u::decode_utf8(s, cps)));
            QVERIFY(stats.replaced_bytes <= static_cast<int64_t>(s.size()));
        }
    }

    void bytesRoundTrip() {
        ponet::ByteTokenizer bytes;
        const std::string text("h\xc3\xa9llo\0\xff", 8);
        const auto ids = bytes.encode(text);
        QCOMPARE(ids, (std::vector<int64_t>{105, 196, 170, 109, 109, 112, 1, 256}));
        QCOMPARE(bytes.decode(ids), text);
        std::vector<int64_t> padded = ids;
        padded.insert(padded.end(), 3, 0);
        QCOMPARE(bytes.decode(padded), text);
        QCOMPARE(bytes.vocab_size(), int64_t{257});
        QCOMPARE(bytes.id_to_token(105), std::string("h"));
        QCOMPARE(bytes.id_to_token(256), std::string("<0xFF>"));
        QCOMPARE(join(bytes.tokenize("a b")), std::string("a <0x20> b"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, bytes.decode({257}));
        std::string all;
        for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
        QCOMPARE(bytes.decode(bytes.encode(all)), all);
    }

    void pixelsRoundTrip() {
        const uint8_t image[] = {0, 1, 128, 255};
        ponet::PixelTokenizer raw(ponet::PixelIds::Raw), fixed(ponet::PixelIds::Shifted);
        QCOMPARE(raw.encode_pixels(image, 4), (std::vector<int64_t>{0, 1, 128, 255}));
        QCOMPARE(fixed.encode_pixels(image, 4), (std::vector<int64_t>{1, 2, 129, 256}));
        QCOMPARE(raw.vocab_size(), int64_t{256});
        QCOMPARE(fixed.vocab_size(), int64_t{257});
        const std::string pixels(reinterpret_cast<const char*>(image), 4);
        QCOMPARE(raw.decode(raw.encode(pixels)), pixels);
        QCOMPARE(fixed.decode(fixed.encode(pixels)), pixels);
        QCOMPARE(fixed.decode({0, 1, 0}),
                 std::string(1, '\0'));  // only the black pixel survives, not padding
        QCOMPARE(join(raw.tokenize(pixels)), std::string("0 1 128 255"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, raw.decode({256}));
    }

    void saveAndLoad() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string root = tmp.path().toStdString();
        bert_->save(root + "/wp");
        auto wp = ponet::load_tokenizer(root + "/wp");
        QCOMPARE(wp->kind(), std::string("wordpiece"));
        QCOMPARE(wp->encode("Hello, unaffable World!"), bert_->encode("Hello, unaffable World!"));
        QCOMPARE(ponet::read_file(root + "/wp/vocab.txt"), ponet::read_file(kVocab));

        // A Hugging Face model folder: its own tokenizer.json (no "kind") next to vocab.txt.
        QDir().mkpath(tmp.filePath("hf"));
        ponet::write_file_atomic(root + "/hf/vocab.txt", ponet::read_file(kVocab));
        ponet::write_file_atomic(root + "/hf/tokenizer.json",
                                 R"({"version": "1.0", "model": {"type": "WordPiece"}})");
        QCOMPARE(ponet::load_tokenizer(root + "/hf")->encode("unaffable"),
                 (std::vector<int64_t>{14477, 20961, 3468}));

        ponet::ByteTokenizer().save(root + "/bytes");
        QCOMPARE(ponet::load_tokenizer(root + "/bytes")->kind(), std::string("bytes"));
        ponet::PixelTokenizer(ponet::PixelIds::Shifted).save(root + "/pixels");
        auto px = ponet::load_tokenizer(root + "/pixels");
        QCOMPARE(px->kind(), std::string("pixels"));
        QCOMPARE(px->vocab_size(), int64_t{257});

        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::load_tokenizer(root + "/missing"));
        QDir().mkpath(tmp.filePath("empty"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::load_tokenizer(root + "/empty"));
        QDir().mkpath(tmp.filePath("bad"));
        ponet::write_file_atomic(root + "/bad/tokenizer.json", R"({"kind": "morse"})");
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::load_tokenizer(root + "/bad"));
        ponet::write_file_atomic(root + "/bad/tokenizer.json", "{not json");
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::load_tokenizer(root + "/bad"));
    }

    // Training, encoding and decoding run inside this process, which links LibTorch: this is the protobuf
    // clash of TOOLCHAIN.md §5.1, and it passes only if the module is loaded with RTLD_DEEPBIND.
    void sentencePieceRoundTrip() {
        std::string reason;
        if (!ponet::sentencepiece_available(&reason)) {
            if (reason.rfind("this is an AddressSanitizer build", 0) == 0) QSKIP(reason.c_str());
            // Only a build configured without SentencePiece may lack the module; ctest sets PONET_SPM_MODULE
            // whenever the build has one.
            QVERIFY2(!std::getenv("PONET_SPM_MODULE"), reason.c_str());
            QVERIFY2(reason.find("this build has no SentencePiece module") == 0, reason.c_str());
            try {
                ponet::SentencePieceTokenizer::from_model("x");
                QFAIL("expected SentencePiece to be unavailable");
            } catch (const ponet::Error& e) {
                QVERIFY(std::string(e.what()).rfind("SentencePiece is unavailable: ", 0) == 0);
            }
            return;
        }
        const torch::Tensor touch = torch::ones({2});  // make sure LibTorch is really in this process
        QCOMPARE(touch.sum().item<float>(), 2.0f);

        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string corpus = tmp.filePath("corpus.txt").toStdString();
        std::mt19937 rng(7);
        static const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "ta",
                                          "so", "pi", "ve", "do", "qu", "ex"};
        std::uniform_int_distribution<int> syl(0, 11), word_len(1, 4), line_len(3, 12);
        std::vector<std::string> lines;
        std::string text;
        for (int l = 0; l < 3000; ++l) {
            std::string line;
            for (int w = line_len(rng); w > 0; --w) {
                if (!line.empty()) line += ' ';
                for (int s = word_len(rng); s > 0; --s) line += syllables[syl(rng)];
            }
            lines.push_back(line);
            text += line + "\n";
        }
        ponet::write_file_atomic(corpus, text);

        for (const char* type : {"unigram", "bpe"}) {
            ponet::SentencePieceTrainOptions o;
            o.vocab_size = 150;
            o.model_type = type;
            o.character_coverage = 1.0;
            auto spm = ponet::SentencePieceTokenizer::train(corpus, o);
            QCOMPARE(spm->vocab_size(), int64_t{150});
            const auto s = spm->special_tokens();
            QCOMPARE(s.pad, int64_t{0});
            QCOMPARE(s.unk, int64_t{1});
            QCOMPARE(s.cls, int64_t{2});
            QCOMPARE(s.sep, int64_t{3});
            QCOMPARE(s.mask, int64_t{4});
            QCOMPARE(spm->id_to_token(4), std::string("[MASK]"));
            for (int i = 0; i < 50; ++i) {
                const auto ids = spm->encode(lines[static_cast<size_t>(i)]);
                QVERIFY(!ids.empty());
                const torch::Tensor t = torch::tensor(ids);  // ids feed a model as a LibTorch tensor
                QVERIFY(t.max().item<int64_t>() < spm->vocab_size());
                QCOMPARE(spm->decode(ids), lines[static_cast<size_t>(i)]);
            }
            const auto masked = spm->encode("kalo [MASK] mine");
            QCOMPARE(std::count(masked.begin(), masked.end(), int64_t{4}), 1L);
            QCOMPARE(join(spm->tokenize("kalo")).rfind("\xe2\x96\x81", 0), size_t{0});  // "▁" starts a word

            EncodeStats stats;
            spm->encode(
                "ka\xff"
                "lo",
                &stats);
            QCOMPARE(stats.replaced_bytes, int64_t{1});
            QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, spm->decode({150}));

            const std::string dir = tmp.filePath(type).toStdString();
            spm->save(dir);
            auto loaded = ponet::load_tokenizer(dir);
            QCOMPARE(loaded->kind(), std::string("sentencepiece"));
            QCOMPARE(loaded->encode(lines[0]), spm->encode(lines[0]));
            QFile::remove(QString::fromStdString(dir + "/tokenizer.json"));  // spm.model alone is enough
            QCOMPARE(ponet::load_tokenizer(dir)->encode(lines[1]), spm->encode(lines[1]));
        }

        ponet::SentencePieceTrainOptions too_big;
        too_big.vocab_size = 100000;
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::SentencePieceTokenizer::train(corpus, too_big));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput,
                                 ponet::SentencePieceTokenizer::from_model("not a model"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::SentencePieceTokenizer::train(
                                                          tmp.filePath("none.txt").toStdString(), {}));
    }
};

QTEST_GUILESS_MAIN(TestTokenizers)
#include "test_tokenizers.moc"
