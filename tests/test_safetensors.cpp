// Tests of the safetensors reader and writer (round trips, the golden model, malformed files) and of atomic
// writes.
#include <torch/torch.h>

#include <sys/stat.h>

#include <cstring>
#include <limits>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"

using ponet::StDtype;
using ponet::StErrc;

namespace {

QByteArray le64(quint64 v) {
    QByteArray out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return out;
}

// A safetensors file from its JSON header text and its data section.
QByteArray stFile(const QByteArray& json, const QByteArray& data = {}) {
    return le64(json.size()) + json + data;
}

void writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    QCOMPARE(f.write(bytes), bytes.size());
}

QByteArray readBytes(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

torch::Dtype dtypeNamed(const QString& name) {
    const auto st = ponet::st_dtype_from_string(name.toStdString());
    if (!st) throw std::runtime_error("unknown dtype in test data: " + name.toStdString());
    return ponet::to_torch_dtype(*st);
}

// Random values spanning the dtype's range, with its extremes planted in the first elements.
torch::Tensor randomTensor(torch::Dtype dtype, at::IntArrayRef shape) {
    if (dtype == torch::kBool) return torch::randint(0, 2, shape, torch::kLong).to(torch::kBool);
    torch::Tensor t;
    if (c10::isFloatingType(dtype)) {
        t = (torch::randn(shape, torch::kDouble) * 1000).to(dtype);
        auto flat = t.view(-1);
        if (flat.numel() >= 3) {
            flat[0] = std::numeric_limits<double>::infinity();
            flat[1] = -std::numeric_limits<double>::infinity();
            flat[2] = -0.0;  // torch::equal cannot tell it from +0.0; the byte comparison can
        }
        return t;
    }
    int64_t lo = 0, hi = 0;
    switch (dtype) {
        case torch::kLong:
            lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
            break;
        case torch::kInt:
            lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
            break;
        case torch::kChar:
            lo = -128, hi = 127;
            break;
        case torch::kByte:
            lo = 0, hi = 255;
            break;
        default:
            throw std::runtime_error("no random generator for this dtype");
    }
    // randint's upper bound is exclusive and int64 ranges would overflow it, so sample a narrower range.
    const int64_t span_lo = dtype == torch::kLong ? -(int64_t(1) << 62) : lo;
    const int64_t span_hi = dtype == torch::kLong ? (int64_t(1) << 62) : hi + 1;
    t = torch::randint(span_lo, span_hi, shape, torch::kLong).to(dtype);
    auto flat = t.view(-1);
    if (flat.numel() >= 2) {
        flat[0] = lo;
        flat[1] = hi;
    }
    return t;
}

bool sameBytes(const torch::Tensor& a, const torch::Tensor& b) {
    const auto ca = a.contiguous(), cb = b.contiguous();
    return ca.scalar_type() == cb.scalar_type() && ca.sizes() == cb.sizes() &&
           std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

QStringList tempFilesIn(const QString& dir) {
    return QDir(dir).entryList(QStringList{QStringLiteral("*.tmp-*")},
                               QDir::Files | QDir::Hidden | QDir::System);
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();
    void roundTripEveryDtype_data();
    void roundTripEveryDtype();
    void emptyAndScalarTensors();
    void metadataRoundTrip();
    void headerLayout();
    void goldenTinyModel();
    void rejectsMalformedFile_data();
    void rejectsMalformedFile();
    void acceptsPaddedHeaderAndEmptyFile();
    void writerRejectsUnsupportedTensors();
    void refusesMissingFile();
    void refusesFileOver64GiB();
    void atomicCommitReplacesFile();
    void atomicWriterWithoutCommitKeepsOldFile();
    void atomicWriteKeepsPermissions();
    void atomicWriterReportsMissingDirectory();
    void readFileLimits();

  private:
    QTemporaryDir dir_;
};

void TestSafetensors::initTestCase() {
    QVERIFY(dir_.isValid());
    torch::manual_seed(20240611);
}

void TestSafetensors::roundTripEveryDtype_data() {
    QTest::addColumn<QString>("dtype");
    for (const char* name : {"F64", "F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL"}) {
        QTest::newRow(name) << QString::fromLatin1(name);
    }
}

void TestSafetensors::roundTripEveryDtype() {
    QFETCH(QString, dtype);
    const torch::Dtype dt = dtypeNamed(dtype);
    std::map<std::string, torch::Tensor> tensors{
        {"block.weight", randomTensor(dt, {3, 5, 7})},
        {"block.bias", randomTensor(dt, {11})},
        // A transposed view: the writer must store the logical order, not the storage order.
        {"transposed", randomTensor(dt, {6, 4}).t()},
    };
    if (c10::isFloatingType(dt)) {
        // Arbitrary bit patterns, NaNs with payloads included, must survive untouched.
        const int64_t bytes = 64 * int64_t(c10::elementSize(dt));
        tensors["raw_bits"] = torch::randint(0, 256, {bytes}, torch::kLong).to(torch::kByte).view(dt);
    }
    const QString path = dir_.filePath("roundtrip-" + dtype + ".safetensors");
    ponet::write_safetensors(path.toStdString(), tensors);

    const auto content = ponet::read_safetensors(path.toStdString());
    QCOMPARE(content.tensors.size(), tensors.size());
    QVERIFY(content.metadata.empty());
    for (const auto& [name, expected] : tensors) {
        const auto it = content.tensors.find(name);
        QVERIFY2(it != content.tensors.end(), name.c_str());
        const torch::Tensor& got = it->second;
        QCOMPARE(got.scalar_type(), dt);
        QCOMPARE(got.sizes().vec(), expected.sizes().vec());
        QVERIFY2(got.is_contiguous() && got.device().is_cpu(), name.c_str());
        if (name != "raw_bits") QVERIFY2(torch::equal(got, expected), name.c_str());
        QVERIFY2(sameBytes(got, expected), name.c_str());
    }
}

void TestSafetensors::emptyAndScalarTensors() {
    const std::map<std::string, torch::Tensor> tensors{
        {"empty", torch::zeros({0}, torch::kFloat)},
        {"empty_2d", torch::zeros({3, 0}, torch::kLong)},
        {"scalar", torch::scalar_tensor(3.25, torch::kDouble)},
        {"scalar_bool", torch::scalar_tensor(true, torch::kBool)},
        {"scalar_half", torch::scalar_tensor(-1.5, torch::kHalf)},
    };
    const QString path = dir_.filePath("empty-scalar.safetensors");
    ponet::write_safetensors(path.toStdString(), tensors);

    const auto content = ponet::read_safetensors(path.toStdString());
    QCOMPARE(content.tensors.size(), tensors.size());
    for (const auto& [name, expected] : tensors) {
        const torch::Tensor& got = content.tensors.at(name);
        QCOMPARE(got.scalar_type(), expected.scalar_type());
        QCOMPARE(got.dim(), expected.dim());
        QCOMPARE(got.sizes().vec(), expected.sizes().vec());
        QVERIFY2(torch::equal(got, expected), name.c_str());
    }
    QCOMPARE(content.tensors.at("scalar").item<double>(), 3.25);

    const QByteArray bytes = readBytes(path);
    const auto header = ponet::parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.constData()),
                                                        bytes.size(), "mem");
    for (const auto& info : header.tensors) {
        if (info.name.rfind("scalar", 0) == 0) {
            QVERIFY(info.shape.empty());
            QCOMPARE(info.end - info.begin, uint64_t(ponet::st_dtype_size(info.dtype)));
        } else {
            QCOMPARE(info.end, info.begin);
        }
    }
}

void TestSafetensors::metadataRoundTrip() {
    const std::map<std::string, std::string> metadata{
        {"format", "pt"},
        {"note", "ünïcödé ✓, \"quotes\", back\\slash,\nnew line and a tab\t"},
        {"", "an empty key is still a key"},
        {"empty_value", ""},
    };
    const QString path = dir_.filePath("metadata.safetensors");
    ponet::write_safetensors(path.toStdString(), {{"x", torch::arange(4, torch::kInt)}}, metadata);
    const auto content = ponet::read_safetensors(path.toStdString());
    QVERIFY(content.metadata == metadata);
    QVERIFY(ponet::read_safetensors_metadata(path.toStdString()) == metadata);
    QVERIFY(torch::equal(content.tensors.at("x"), torch::arange(4, torch::kInt)));

    // Metadata with no tensors at all is a valid file too.
    const QString only = dir_.filePath("metadata-only.safetensors");
    ponet::write_safetensors(only.toStdString(), {}, metadata);
    const auto only_content = ponet::read_safetensors(only.toStdString());
    QVERIFY(only_content.tensors.empty());
    QVERIFY(only_content.metadata == metadata);
}

void TestSafetensors::headerLayout() {
    std::vector<ponet::StTensorInfo> infos{
        {"b", StDtype::F32, {2, 3}, 0, 0},
        {"a", StDtype::BOOL, {3}, 0, 0},
        {"c", StDtype::BF16, {}, 0, 0},
    };
    const std::string header = ponet::build_safetensors_header(infos, {{"k", "v"}});
    QCOMPARE(header.size() % 8, size_t(0));
    uint64_t len = 0;
    for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(header[i]);
    QCOMPARE(len, uint64_t(header.size() - 8));
    QCOMPARE(header[8], '{');
    // Offsets follow the given order, back to back.
    QCOMPARE(infos[0].begin, uint64_t(0));
    QCOMPARE(infos[0].end, uint64_t(24));
    QCOMPARE(infos[1].begin, uint64_t(24));
    QCOMPARE(infos[1].end, uint64_t(27));
    QCOMPARE(infos[2].begin, uint64_t(27));
    QCOMPARE(infos[2].end, uint64_t(29));

    const std::string file = header + std::string(29, '\0');
    const auto parsed =
        ponet::parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "mem");
    QCOMPARE(parsed.data_start, uint64_t(header.size()));
    QCOMPARE(parsed.tensors.size(), size_t(3));
    QCOMPARE(QString::fromStdString(parsed.tensors[1].name), QStringLiteral("a"));
    QCOMPARE(parsed.tensors[1].dtype, StDtype::BOOL);
    QCOMPARE(parsed.metadata.at("k"), std::string("v"));

    std::vector<ponet::StTensorInfo> duplicate{{"x", StDtype::U8, {1}, 0, 0}, {"x", StDtype::U8, {1}, 0, 0}};
    QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::build_safetensors_header(duplicate, {}));
}

void TestSafetensors::goldenTinyModel() {
    QString path = QStringLiteral(PONET_SHARED_DIR "/golden/tiny/model.safetensors");
    if (!QFile::exists(path))
        path = QStringLiteral(PONET_TEST_SOURCE_DIR "/../resources/golden/tiny/model.safetensors");
    QVERIFY2(QFile::exists(path), qPrintable(path));

    const auto content = ponet::read_safetensors(path.toStdString());
    QCOMPARE(content.tensors.size(), size_t(54));
    QCOMPARE(content.metadata.at("format"), std::string("pt"));

    const torch::Tensor& words = content.tensors.at("ponet.embeddings.word_embeddings.weight");
    QCOMPARE(words.scalar_type(), torch::kFloat);
    QCOMPARE(words.sizes().vec(), (std::vector<int64_t>{160, 32}));
    // Bit patterns taken from the file with Python's struct module.
    const float first = words[0][0].item<float>();
    uint32_t bits = 0;
    std::memcpy(&bits, &first, 4);
    QCOMPARE(bits, uint32_t(0x3daf6fa3));
    QCOMPARE(words[159][31].item<float>(), 0.10482870787382126f);

    const torch::Tensor& sso = content.tensors.at("cls.seq_relationship.bias");
    QCOMPARE(sso.sizes().vec(), std::vector<int64_t>{3});
    QCOMPARE(sso[0].item<float>(), 0.19340664148330688f);
    QCOMPARE(sso[1].item<float>(), -0.030679017305374146f);
    QCOMPARE(content.tensors.at("ponet.pooler.dense.weight").sizes().vec(), (std::vector<int64_t>{32, 32}));
    QCOMPARE(content.tensors.at("ponet.embeddings.LayerNorm.weight")[0].item<float>(), 1.0602694749832153f);

    // The header alone, in file order.
    const auto header = ponet::read_safetensors_header(path.toStdString());
    QCOMPARE(header.data_start, uint64_t(8 + 5824));
    QCOMPARE(header.tensors.size(), size_t(54));
    QCOMPARE(QString::fromStdString(header.tensors.front().name), QStringLiteral("cls.predictions.bias"));
    QCOMPARE(header.tensors.front().begin, uint64_t(0));
    for (size_t i = 1; i < header.tensors.size(); ++i) {
        QCOMPARE(header.tensors[i].begin, header.tensors[i - 1].end);
    }
    QCOMPARE(header.data_start + header.tensors.back().end, uint64_t(QFileInfo(path).size()));

    // What we write from it reads back identical.
    const QString copy = dir_.filePath("golden-copy.safetensors");
    ponet::write_safetensors(copy.toStdString(), content.tensors, content.metadata);
    const auto again = ponet::read_safetensors(copy.toStdString());
    QVERIFY(again.metadata == content.metadata);
    for (const auto& [name, t] : content.tensors)
        QVERIFY2(sameBytes(again.tensors.at(name), t), name.c_str());
}

void TestSafetensors::rejectsMalformedFile_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("tensor");
    QTest::addColumn<QString>("fragment");  // a piece the message must contain

    const QByteArray w = "ponet.pooler.dense.weight";
    const auto entry = [](const QByteArray& name, const QByteArray& dtype, const QByteArray& shape,
                          const QByteArray& offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
               ",\"data_offsets\":" + offsets + "}";
    };
    const auto row = [](const char* tag, const QByteArray& bytes, StErrc code, const QString& tensor,
                        const QString& fragment) {
        QTest::newRow(tag) << bytes << int(code) << tensor << fragment;
    };
    const QByteArray zeros16(16, '\0');

    row("file smaller than 8 bytes", QByteArray("\x05\0\0", 3), StErrc::FileTooSmall, "", "3 bytes");
    row("header length over 100 MiB", le64((100ull << 20) + 1) + "{}", StErrc::HeaderTooLarge, "", "limit");
    row("header length past end of file", le64(1000) + "{}      ", StErrc::HeaderOutOfFile, "",
        "only 8 bytes");
    row("header length zero", le64(0), StErrc::HeaderNotJson, "", "not valid JSON");
    row("invalid JSON", stFile("{\"" + w + "\": {\"dtype\": "), StErrc::HeaderNotJson, "", "not valid JSON");
    row("invalid UTF-8 in a name", stFile("{\"bad\xff\":{}}"), StErrc::HeaderNotJson, "", "not valid JSON");
    row("byte-order mark", stFile("\xEF\xBB\xBF{}"), StErrc::HeaderNotJson, "", "byte-order mark");
    row("JSON array instead of object", stFile("[1, 2, 3]"), StErrc::HeaderNotObject, "", "array");
    row("entry not an object", stFile("{\"" + w + "\": 5}"), StErrc::EntryNotObject, w, "not an object");
    row("missing dtype", stFile("{\"" + w + "\":{\"shape\":[4],\"data_offsets\":[0,16]}}", zeros16),
        StErrc::MissingField, w, "'dtype'");
    row("missing data_offsets", stFile("{\"" + w + "\":{\"dtype\":\"F32\",\"shape\":[4]}}", zeros16),
        StErrc::MissingField, w, "'data_offsets'");
    row("unknown dtype F8", stFile("{" + entry(w, "F8", "[4]", "[0,4]") + "}", zeros16.left(4)),
        StErrc::BadDtype, w, "\"F8\"");
    row("dtype not a string",
        stFile("{\"" + w + "\":{\"dtype\":4,\"shape\":[4],\"data_offsets\":[0,16]}}", zeros16),
        StErrc::BadDtype, w, "not a string");
    row("negative shape dimension", stFile("{" + entry(w, "F32", "[-4]", "[0,16]") + "}", zeros16),
        StErrc::BadShape, w, "shape[0] is -4");
    row("fractional shape dimension", stFile("{" + entry(w, "F32", "[4.0]", "[0,16]") + "}", zeros16),
        StErrc::BadShape, w, "shape[0]");
    row("shape not an array", stFile("{" + entry(w, "F32", "4", "[0,16]") + "}", zeros16), StErrc::BadShape,
        w, "not an array");
    row("shape product overflow",
        stFile("{" + entry(w, "F32", "[1099511627776,1099511627776]", "[0,16]") + "}", zeros16),
        StErrc::BadShape, w, "2^64");
    row("shape x dtype size != offsets length",
        stFile("{" + entry(w, "F32", "[2,2]", "[0,12]") + "}", zeros16.left(12)), StErrc::SizeMismatch, w,
        "shape [2, 2] × F32 needs 16 bytes but data_offsets [0, 12] hold 12");
    row("end past the data section", stFile("{" + entry(w, "F32", "[4]", "[0,16]") + "}", zeros16.left(8)),
        StErrc::OffsetsOutOfFile, w, "holds 8 bytes");
    row("begin after end", stFile("{" + entry(w, "U8", "[4]", "[8,4]") + "}", zeros16.left(8)),
        StErrc::BadOffsets, w, "[8, 4]");
    row("offsets not a pair", stFile("{" + entry(w, "U8", "[4]", "[4]") + "}", zeros16.left(4)),
        StErrc::BadOffsets, w, "[begin, end]");
    row("two tensors overlap",
        stFile("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}",
               zeros16.left(12)),
        StErrc::Overlap, "b", "overlap tensor 'a'");
    row("hole between tensors",
        stFile("{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}",
               zeros16.left(12)),
        StErrc::Gap, "b", "[4, 8]");
    row("hole at the start", stFile("{" + entry(w, "F32", "[1]", "[4,8]") + "}", zeros16.left(8)),
        StErrc::Gap, w, "start of the data section");
    row("trailing bytes after the last tensor",
        stFile("{" + entry(w, "F32", "[1]", "[0,4]") + "}", zeros16.left(8)), StErrc::Gap, "",
        "cover only 4");
    row("metadata value not a string", stFile("{\"__metadata__\":{\"format\":1}}"), StErrc::BadMetadata, "",
        "'format'");
    row("metadata not an object", stFile("{\"__metadata__\":[\"pt\"]}"), StErrc::BadMetadata, "",
        "not an object");
    row("duplicate tensor name",
        stFile("{" + entry(w, "F32", "[1]", "[0,4]") + "," + entry(w, "F32", "[1]", "[4,8]") + "}",
               zeros16.left(8)),
        StErrc::DuplicateName, w, "twice");
    row("duplicate field in an entry",
        stFile("{\"" + w + "\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               zeros16.left(4)),
        StErrc::DuplicateField, w, "'dtype' appears twice");
    row("BOOL byte value 2",
        stFile("{" + entry(w, "BOOL", "[3]", "[0,3]") + "}", QByteArray("\x01\x00\x02", 3)), StErrc::BadBool,
        w, "element 2");
}

void TestSafetensors::rejectsMalformedFile() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, code);
    QFETCH(QString, tensor);
    QFETCH(QString, fragment);
    const auto expected = static_cast<StErrc>(code);
    const QString path = dir_.filePath("bad.safetensors");
    writeBytes(path, bytes);

    bool thrown = false;
    try {
        ponet::read_safetensors(path.toStdString());
    } catch (const ponet::SafetensorsError& e) {
        thrown = true;
        const QString message = QString::fromUtf8(e.what());
        QCOMPARE(QString::fromStdString(ponet::to_string(e.code())),
                 QString::fromStdString(ponet::to_string(expected)));
        QCOMPARE(QString::fromStdString(e.tensor()), tensor);
        QVERIFY2(message.contains(path), qPrintable(message));
        if (!tensor.isEmpty()) QVERIFY2(message.contains("tensor '" + tensor + "'"), qPrintable(message));
        QVERIFY2(message.contains(fragment), qPrintable(message));
    }
    QVERIFY2(thrown, "the malformed file was accepted");

    // The torch-free parser agrees on everything it can see; BOOL values live in the data, not the header.
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.constData());
    if (expected == StErrc::BadBool) {
        QCOMPARE(ponet::parse_safetensors_header(data, bytes.size(), "mem").tensors.size(), size_t(1));
    } else {
        try {
            ponet::parse_safetensors_header(data, bytes.size(), "mem");
            QFAIL("parse_safetensors_header accepted the malformed header");
        } catch (const ponet::SafetensorsError& e) {
            QCOMPARE(QString::fromStdString(ponet::to_string(e.code())),
                     QString::fromStdString(ponet::to_string(expected)));
        }
    }
}

void TestSafetensors::acceptsPaddedHeaderAndEmptyFile() {
    const QString path = dir_.filePath("padded.safetensors");
    writeBytes(path, stFile("{\"x\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}     ",
                            QByteArray("\x01\0\0\0\xff\xff\xff\xff", 8)));
    const auto content = ponet::read_safetensors(path.toStdString());
    QVERIFY(torch::equal(content.tensors.at("x"), torch::tensor({1, -1}, torch::kInt)));

    writeBytes(path, stFile("{}"));
    const auto empty = ponet::read_safetensors(path.toStdString());
    QVERIFY(empty.tensors.empty());
    QVERIFY(empty.metadata.empty());
}

void TestSafetensors::writerRejectsUnsupportedTensors() {
    const QString path = dir_.filePath("rejected.safetensors");
    const std::string p = path.toStdString();
    const auto expectRejected = [&](const std::map<std::string, torch::Tensor>& tensors,
                                    const QString& fragment) {
        try {
            ponet::write_safetensors(p, tensors);
            QFAIL("write_safetensors accepted the tensors");
        } catch (const ponet::InvalidInput& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(fragment), e.what());
        }
        QVERIFY(!QFile::exists(path));
        QVERIFY(tempFilesIn(dir_.path()).isEmpty());
    };
    expectRejected({{"ok", torch::ones({2})}, {"spectrum", torch::ones({2}, torch::kComplexFloat)}},
                   "tensor 'spectrum' has dtype");
    expectRejected({{"missing", torch::Tensor()}}, "tensor 'missing' is undefined");
    expectRejected({{"__metadata__", torch::ones({1})}}, "__metadata__");
    expectRejected({{"sparse", torch::ones({2, 2}).to_sparse()}}, "tensor 'sparse' is not a dense tensor");
}

void TestSafetensors::refusesMissingFile() {
    const QString path = dir_.filePath("does-not-exist.safetensors");
    try {
        ponet::read_safetensors(path.toStdString());
        QFAIL("read a missing file");
    } catch (const ponet::SafetensorsError&) {
        QFAIL("a missing file is an I/O error, not a format error");
    } catch (const ponet::Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(path), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::read_safetensors(dir_.path().toStdString()));
}

void TestSafetensors::refusesFileOver64GiB() {
    // A sparse file: the size check must come before any read, so no disk space or memory is spent.
    const QString path = dir_.filePath("huge.safetensors");
    writeBytes(path, stFile("{}"));
    QVERIFY(QFile::resize(path, qint64(ponet::kStMaxFileBytes) + 1));
    try {
        ponet::read_safetensors(path.toStdString());
        QFAIL("read a file over the size limit");
    } catch (const ponet::SafetensorsError& e) {
        QCOMPARE(QString::fromStdString(ponet::to_string(e.code())), QStringLiteral("FileTooLarge"));
        QVERIFY2(QString::fromUtf8(e.what()).contains("64 GiB"), e.what());
    }
    QFile::remove(path);
}

void TestSafetensors::atomicCommitReplacesFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("state.json").toStdString();
    ponet::write_file_atomic(path, "old content");
    QCOMPARE(ponet::read_file(path), std::string("old content"));
    {
        ponet::AtomicFileWriter writer(path);
        QVERIFY(QFile::exists(QString::fromStdString(writer.temp_path())));
        QVERIFY(
            QString::fromStdString(writer.temp_path()).startsWith(QString::fromStdString(path) + ".tmp-"));
        writer.write("new ", 4);
        writer.write("content", 7);
        // Readers still see the old file until the commit.
        QCOMPARE(ponet::read_file(path), std::string("old content"));
        writer.commit();
        QCOMPARE(ponet::read_file(path), std::string("new content"));
        QVERIFY_THROWS_EXCEPTION(ponet::Error, writer.commit());
    }
    QCOMPARE(ponet::read_file(path), std::string("new content"));
    QVERIFY(tempFilesIn(dir.path()).isEmpty());

    // write_safetensors goes through the same path and replaces an existing file.
    const std::string st = dir.filePath("model.safetensors").toStdString();
    ponet::write_safetensors(st, {{"a", torch::ones({2})}});
    ponet::write_safetensors(st, {{"b", torch::zeros({3})}});
    const auto content = ponet::read_safetensors(st);
    QCOMPARE(content.tensors.size(), size_t(1));
    QVERIFY(content.tensors.count("b") == 1);
    QVERIFY(tempFilesIn(dir.path()).isEmpty());
}

void TestSafetensors::atomicWriterWithoutCommitKeepsOldFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("model.safetensors").toStdString();
    ponet::write_file_atomic(path, "the old checkpoint");
    std::string temp;
    {
        ponet::AtomicFileWriter writer(path);
        temp = writer.temp_path();
        writer.write("half a new checkp", 17);
    }  // destroyed without commit, as when an exception unwinds a save
    QCOMPARE(ponet::read_file(path), std::string("the old checkpoint"));
    QVERIFY(!QFile::exists(QString::fromStdString(temp)));
    QVERIFY(tempFilesIn(dir.path()).isEmpty());
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
}

void TestSafetensors::atomicWriteKeepsPermissions() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("shared.json").toStdString();
    ponet::write_file_atomic(path, "{}");
    struct stat st {};
    QCOMPARE(::stat(path.c_str(), &st), 0);
    // A new file gets the usual mode, not mkstemp's 0600.
    const mode_t mask = ::umask(022);
    ::umask(mask);
    QCOMPARE(st.st_mode & 0777, 0666 & ~mask);

    QCOMPARE(::chmod(path.c_str(), 0640), 0);
    ponet::write_file_atomic(path, "{\"a\": 1}");
    QCOMPARE(::stat(path.c_str(), &st), 0);
    QCOMPARE(st.st_mode & 0777, mode_t(0640));
}

void TestSafetensors::atomicWriterReportsMissingDirectory() {
    const std::string path = dir_.filePath("no/such/dir/file.bin").toStdString();
    try {
        ponet::write_file_atomic(path, "x");
        QFAIL("wrote into a missing directory");
    } catch (const ponet::Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QString::fromStdString(path)), e.what());
        QVERIFY2(message.contains("No such file or directory"), e.what());
    }
}

void TestSafetensors::readFileLimits() {
    const std::string path = dir_.filePath("three-bytes.txt").toStdString();
    ponet::write_file_atomic(path, "abc");
    QCOMPARE(ponet::read_file(path, 3), std::string("abc"));
    try {
        ponet::read_file(path, 2);
        QFAIL("read past the limit");
    } catch (const ponet::Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains("limit of 2"), e.what());
    }
    try {
        ponet::read_file(path + ".missing");
        QFAIL("read a missing file");
    } catch (const ponet::Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains("No such file or directory"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::read_file(dir_.path().toStdString()));
    ponet::write_file_atomic(path, "");
    QCOMPARE(ponet::read_file(path), std::string());
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
