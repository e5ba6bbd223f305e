// End-to-end tests of the `ponet` command line through QProcess: forward against the golden vectors, exit
// codes and one-line reasons for bad input, info, help, the man page and the self-test.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/model/model_config.h"
#include "tests/cli_process.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/util/paths.h"

#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QStringList>
#include <QTemporaryDir>
#include <QTest>

namespace {

namespace fs = std::filesystem;

QString goldenDir() {
    const std::string res = ponet::resources_dir();
    return res.empty() ? QString() : QString::fromStdString((fs::path(res) / "golden" / "tiny").string());
}

using Run = ponet::test::CliRun;

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();
    void forwardMatchesGolden_data();
    void forwardMatchesGolden();
    void badInput_data();
    void badInput();
    void infoBaseModel();
    void version();
    void forwardHelp();
    void programHelp();
    void manPage();
    void selftest();
    void selftestReportsFailures();
    void tokenizeTrainsANamedModel();

  private:
    Run ponet(const QStringList& args);
    QString writeInputs(const QString& name, const std::map<std::string, torch::Tensor>& tensors);

    QString binary_;
    QString golden_;
    QTemporaryDir tmp_;
    std::map<std::string, torch::Tensor> io_;
};

Run TestCli::ponet(const QStringList& args) {
    return ponet::test::runCli(binary_, args, 300000);
}

QString TestCli::writeInputs(const QString& name, const std::map<std::string, torch::Tensor>& tensors) {
    const QString path = tmp_.filePath(name);
    ponet::write_safetensors(path.toStdString(), tensors);
    return path;
}

void TestCli::initTestCase() {
    QVERIFY(tmp_.isValid());
    // Test executables live in <build>/tests/, the CLI in <build>/.
    binary_ = QFileInfo(QCoreApplication::applicationDirPath() + "/../ponet").absoluteFilePath();
    QVERIFY2(QFileInfo(binary_).isExecutable(),
             qPrintable("the ponet binary is not at " + binary_ + "; build the 'ponet' target first"));
    golden_ = goldenDir();
    QVERIFY2(QFileInfo::exists(golden_ + "/io.safetensors"), qPrintable("no golden vectors at " + golden_));
    io_ = ponet::read_safetensors((golden_ + "/io.safetensors").toStdString()).tensors;
}

void TestCli::forwardMatchesGolden_data() {
    QTest::addColumn<QStringList>("extraArgs");
    QTest::addColumn<bool>("explicitSegments");
    QTest::newRow("default") << QStringList{} << false;
    QTest::newRow("reference mixer") << QStringList{"--mixer-impl", "reference"} << false;
    QTest::newRow("cpu, explicit segment ids") << QStringList{"--device", "cpu"} << true;
}

void TestCli::forwardMatchesGolden() {
    QFETCH(QStringList, extraArgs);
    QFETCH(bool, explicitSegments);
    std::map<std::string, torch::Tensor> inputs;
    for (const char* n : {"input_ids", "attention_mask", "token_type_ids"}) inputs[n] = io_.at(n);
    if (explicitSegments) inputs["segment_ids"] = io_.at("segment_ids");  // the reference's own derived ids
    const QString in = writeInputs(QString("in-%1.safetensors").arg(QTest::currentDataTag()), inputs);
    const QString out = tmp_.filePath(QString("out-%1.safetensors").arg(QTest::currentDataTag()));

    const Run r =
        ponet(QStringList{"forward", "--model", golden_, "--input", in, "--output", out} + extraArgs);
    QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1: %2").arg(r.exitCode).arg(r.err)));
    QVERIFY2(r.out.contains("wrote 9 tensors"), qPrintable(r.out));

    const auto got = ponet::read_safetensors(out.toStdString()).tensors;
    const QStringList expected{"last_hidden_state",       "pooler_output",   "prediction_logits",
                               "seq_relationship_logits", "hidden_states.0", "hidden_states.1",
                               "hidden_states.2",         "ga_attention.0",  "ga_attention.1"};
    QStringList names;
    for (const auto& kv : got) names << QString::fromStdString(kv.first);
    QStringList sortedExpected = expected;
    sortedExpected.sort();
    QCOMPARE(names, sortedExpected);  // std::map order is sorted too
    for (const QString& name : expected) {
        const auto& t = got.at(name.toStdString());
        const auto& want = io_.at(name.toStdString());
        QVERIFY2(t.scalar_type() == torch::kFloat, qPrintable(name + " is not float32"));
        QVERIFY2(t.sizes() == want.sizes(), qPrintable(name + " has the wrong shape"));
        const double err = (t.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
        QVERIFY2(err < 1e-4, qPrintable(QString("%1: max abs error %2").arg(name).arg(err)));
    }
}

void TestCli::badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("reason");
    // Placeholders: @GOLDEN@ the golden model dir, @IN@ a valid input file, @FLOAT@ float input_ids,
    // @CORRUPT@ a file that is not safetensors, @OUT@ an output path.
    QTest::newRow("missing --model") << QStringList{"forward", "--input", "@IN@", "--output", "@OUT@"}
                                     << "--model DIR is required";
    QTest::newRow("float input_ids") << QStringList{"forward", "--model",  "@GOLDEN@", "--input",
                                                    "@FLOAT@", "--output", "@OUT@"}
                                     << "'input_ids' must be int64";
    QTest::newRow("corrupt input") << QStringList{"forward",   "--model",  "@GOLDEN@", "--input",
                                                  "@CORRUPT@", "--output", "@OUT@"}
                                   << "corrupt.safetensors";
    QTest::newRow("no such model dir")
        << QStringList{"forward", "--model", "@TMP@/no-such-model", "--input", "@IN@", "--output", "@OUT@"}
        << "no-such-model' is not a directory";
    QTest::newRow("unknown option") << QStringList{"forward", "--model",  "@GOLDEN@", "--input",
                                                   "@IN@",    "--output", "@OUT@",    "--bogus"}
                                    << "unknown option --bogus";
    QTest::newRow("option without value") << QStringList{"forward", "--model"} << "--model needs a value";
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << "unknown command 'frobnicate'";
    QTest::newRow("unknown device") << QStringList{"forward",  "--model", "@GOLDEN@", "--input", "@IN@",
                                                   "--output", "@OUT@",   "--device", "tpu"}
                                    << "unknown device 'tpu'";
    QTest::newRow("unknown mixer impl")
        << QStringList{"forward",  "--model", "@GOLDEN@",     "--input", "@IN@",
                       "--output", "@OUT@",   "--mixer-impl", "magic"}
        << "unknown mixer implementation 'magic'";
    QTest::newRow("unknown model shape")
        << QStringList{"info", "--model", "ponet-huge"} << "ponet-base-uncased";
    // This machine has no usable GPU; where one is, ask for a GPU index that cannot exist.
    if (torch::cuda::is_available())
        QTest::newRow("--device cuda") << QStringList{"forward",  "--model", "@GOLDEN@", "--input", "@IN@",
                                                      "--output", "@OUT@",   "--device", "cuda:64"}
                                       << "does not exist";
    else
        QTest::newRow("--device cuda") << QStringList{"forward",  "--model", "@GOLDEN@", "--input", "@IN@",
                                                      "--output", "@OUT@",   "--device", "cuda"}
                                       << "no CUDA GPU is usable here";
}

void TestCli::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QString, reason);
    const QString in = writeInputs("good.safetensors", {{"input_ids", io_.at("input_ids")}});
    const QString flt =
        writeInputs("float.safetensors", {{"input_ids", io_.at("input_ids").to(torch::kFloat)}});
    const QString corrupt = tmp_.filePath("corrupt.safetensors");
    {
        QFile f(corrupt);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("this is not a safetensors file at all");
    }
    const QString out = tmp_.filePath("bad-out.safetensors");
    for (QString& a : args) {
        a.replace("@GOLDEN@", golden_)
            .replace("@IN@", in)
            .replace("@FLOAT@", flt)
            .replace("@CORRUPT@", corrupt);
        a.replace("@OUT@", out).replace("@TMP@", tmp_.path());
    }
    const Run r = ponet(args);
    QVERIFY2(r.exitCode == 2, qPrintable(QString("exit %1, stderr: %2").arg(r.exitCode).arg(r.err)));
    const QString err = r.err.trimmed();
    QVERIFY2(!err.isEmpty() && !err.contains('\n'), qPrintable("stderr is not one line: " + r.err));
    QVERIFY2(err.contains(reason), qPrintable("stderr '" + err + "' does not mention '" + reason + "'"));
    QVERIFY2(!QFileInfo::exists(out), "an output file was written despite the error");
}

void TestCli::infoBaseModel() {
    const Run r = ponet({"info", "--model", "ponet-base-uncased"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(QRegularExpression(R"(parameters\s+124,281,405\n)")), qPrintable(r.out));
    QVERIFY2(r.out.contains("PoNetForPreTraining"), qPrintable(r.out));
    // A model directory works too, and names its weights file.
    const Run g = ponet({"info", "--model", golden_});
    QVERIFY2(g.exitCode == 0, qPrintable(g.err));
    QVERIFY2(g.out.contains("model.safetensors"), qPrintable(g.out));
    QVERIFY2(r.out.contains(QRegularExpression(R"(special tokens\s+pad 0, cls 101, sep 102, mask 103\n)")),
             qPrintable(r.out));
    QVERIFY2(!r.out.contains("trained at"), qPrintable(r.out));  // the built-in shape was never trained
    // The LRA skeleton has no special tokens; a model from a run says the length it was trained at and what it reads.
    const QString lra = QDir(tmp_.path()).filePath("lra-listops-trained");
    QVERIFY(QDir().mkpath(lra));
    auto config = ponet::ModelConfig::load(ponet::resources_dir() + "/models/lra-listops/config.json");
    config.trained_length = 1024;
    config.lra_input = "listops";
    config.save((lra + "/config.json").toStdString());
    const Run l = ponet({"info", "--model", lra});
    QVERIFY2(l.exitCode == 0, qPrintable(l.err));
    QVERIFY2(l.out.contains(QRegularExpression(R"(special tokens\s+none \(id 0 is padding\)\n)")), qPrintable(l.out));
    QVERIFY2(l.out.contains(QRegularExpression(R"(trained at\s+1024 tokens \(reads listops\)\n)")),
             qPrintable(l.out));
}

void TestCli::version() {
    const Run r = ponet({"--version"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(QString("ponet ") + PONET_VERSION + " "), qPrintable(r.out));
    QVERIFY2(r.out.contains("LibTorch " TORCH_VERSION), qPrintable(r.out));
    QCOMPARE(r.out.count('\n'), 1);
}

void TestCli::forwardHelp() {
    const Run r = ponet({"forward", "--help"});
    QCOMPARE(r.exitCode, 0);
    for (const char* opt : {"--model DIR", "--input IN.safetensors", "--output OUT.safetensors",
                            "--device DEVICE", "--mixer-impl IMPL", "--help"})
        QVERIFY2(r.out.contains(opt), qPrintable(QString("'%1' missing from:\n%2").arg(opt, r.out)));
    QVERIFY2(r.out.startsWith("usage: ponet forward"), qPrintable(r.out));
    QVERIFY(r.err.isEmpty());
}

void TestCli::programHelp() {
    const Run r = ponet({"--help"});
    QCOMPARE(r.exitCode, 0);
    for (const char* cmd : {"forward", "info", "selftest"})
        QVERIFY2(r.out.contains(QRegularExpression(QString(R"(\n  %1\s)").arg(cmd))), qPrintable(r.out));
    // No arguments at all is a usage error that still shows the help.
    const Run bare = ponet({});
    QCOMPARE(bare.exitCode, 2);
    QVERIFY(bare.out.contains("usage: ponet COMMAND"));
}

void TestCli::manPage() {
    const Run r = ponet({"--man"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith(".TH PONET 1"), qPrintable(r.out.left(200)));
    for (const char* part : {".SH NAME", ".SH SYNOPSIS", ".SH EXIT STATUS", "\\-\\-mixer\\-impl"})
        QVERIFY2(r.out.contains(part), part);
}

void TestCli::selftest() {
    const Run r = ponet({"selftest", "--device", "cpu"});
    QVERIFY2(r.exitCode == 0, qPrintable(QString("exit %1\n%2\n%3").arg(r.exitCode).arg(r.out, r.err)));
    const QStringList lines = r.out.trimmed().split('\n');
    const auto m = QRegularExpression(R"(^(\d+) passed, 0 failed$)").match(lines.last());
    QVERIFY2(m.hasMatch(), qPrintable("last line: " + lines.last()));
    QVERIFY2(m.captured(1).toInt() > 70, qPrintable(lines.last()));
    QCOMPARE(lines.first(), QString("ponet selftest on cpu"));
}

void TestCli::selftestReportsFailures() {
    // Golden vectors that are not there: the parity checks fail, the others still run, and the exit status
    // is 1.
    const Run r = ponet({"selftest", "--device", "cpu", "--golden", tmp_.filePath("no-golden")});
    QCOMPARE(r.exitCode, 1);
    const QStringList lines = r.out.trimmed().split('\n');
    const auto m = QRegularExpression(R"(^(\d+) passed, (\d+) failed$)").match(lines.last());
    QVERIFY2(m.hasMatch(), qPrintable(r.out));
    QVERIFY2(m.captured(1).toInt() > 0 && m.captured(2).toInt() > 0, qPrintable(lines.last()));
    QVERIFY2(r.out.contains("FAIL  [cpu] golden parity"), qPrintable(r.out));
}

// `ponet tokenize --train-spm CORPUS --name NAME`: any importable corpus (here a folder per label), the model kept
// in the tokenizers folder the app lists, usable as --tokenizer; a taken name and too large a vocabulary are
// refused with a message that says so.
void TestCli::tokenizeTrainsANamedModel() {
    // The `ponet` under test is built like this test: in the sanitizer build it cannot load SentencePiece.
    std::string reason;
    if (!ponet::sentencepiece_available(&reason) && reason.rfind("this is an AddressSanitizer build", 0) == 0)
        QSKIP(reason.c_str());
    const QString data = tmp_.filePath("data-dir");
    qputenv("PONET_DATA_DIR", data.toUtf8());
    for (const char* label : {"cooking", "astronomy"}) {
        QDir().mkpath(tmp_.filePath(QString("corpus/") + label));
        for (int i = 0; i < 20; ++i) {
            QFile f(tmp_.filePath(QString("corpus/%1/%2.txt").arg(label).arg(i)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QString("the %1 number %2 shows the onion and the star near the oven and the moon\n")
                        .arg(label)
                        .arg(i % 7)
                        .toUtf8());
        }
    }
    const QString corpus = tmp_.filePath("corpus");
    const Run r = ponet({"tokenize", "--train-spm", corpus, "--name", "demo", "--model-type", "bpe", "--vocab-size",
                         "60", "--ids", "the onion"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("trained a bpe model of 60 pieces on 40 lines of 40 documents"), qPrintable(r.err));
    QVERIFY(!r.out.trimmed().isEmpty());
    const QString dir = data + "/tokenizers/demo";
    QVERIFY(QFileInfo::exists(dir + "/spm.model"));
    const Run list = ponet({"tokenize", "--list-trained"});
    QCOMPARE(list.exitCode, 0);
    QVERIFY2(list.out.startsWith("demo\tbpe\t60\t" + dir), qPrintable(list.out));
    const Run use = ponet({"tokenize", "--tokenizer", dir, "the star"});
    QCOMPARE(use.exitCode, 0);
    QVERIFY(!use.out.trimmed().isEmpty());

    const Run taken = ponet({"tokenize", "--train-spm", corpus, "--name", "demo", "--vocab-size", "60"});
    QCOMPARE(taken.exitCode, 2);
    QVERIFY2(taken.err.contains("already exists"), qPrintable(taken.err));
    const Run big = ponet({"tokenize", "--train-spm", corpus, "--name", "big", "--vocab-size", "50000"});
    QCOMPARE(big.exitCode, 2);
    QVERIFY2(big.err.contains("the corpus supports at most"), qPrintable(big.err));
    QVERIFY(!QFileInfo::exists(data + "/tokenizers/big"));
    qunsetenv("PONET_DATA_DIR");
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
