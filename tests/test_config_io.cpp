// Tests of the model configuration (config.json) and of checkpoint loading and saving under the Hugging Face
// parameter names (PONET-SPEC §1.1, §1.8, §3.2.3).
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/check/check_result.h"
#include "core/check/checks.h"
#include "core/io/model_io.h"
#include "core/io/safetensors.h"
#include "core/model/model_config.h"
#include "core/model/ponet_model.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <QString>
#include <QTemporaryDir>
#include <QTest>

namespace {

namespace fs = std::filesystem;
using TensorMap = std::map<std::string, torch::Tensor>;

std::string goldenDir() {
    const std::string res = ponet::resources_dir();
    if (res.empty()) throw std::runtime_error("no resources directory (set PONET_RESOURCES_DIR)");
    return (fs::path(res) / "golden" / "tiny").string();
}

ponet::ModelConfig goldenConfig() {
    return ponet::ModelConfig::load(goldenDir() + "/config.json");
}

TensorMap goldenWeights() {
    return ponet::read_safetensors(goldenDir() + "/model.safetensors").tensors;
}

ponet::ModelConfig withArchitecture(ponet::ModelConfig c, const std::string& arch) {
    c.architectures = {arch};
    return c;
}

void randomise(torch::nn::Module& m, uint64_t seed) {
    torch::NoGradGuard no_grad;
    torch::manual_seed(seed);
    for (auto& p : m.parameters()) p.normal_(0.0, 0.5);
}

bool contains(const std::vector<std::string>& v, const std::string& fragment) {
    for (const auto& s : v)
        if (s.find(fragment) != std::string::npos) return true;
    return false;
}

QString joined(const std::vector<std::string>& v) {
    QStringList out;
    for (const auto& s : v) out << QString::fromStdString(s);
    return out.join("; ");
}

// Runs fn, which must throw ponet::InvalidInput, and returns its message (or a text saying what happened
// instead, which then fails the caller's message check).
std::string invalidInputMessage(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ponet::InvalidInput& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("UNEXPECTED EXCEPTION TYPE: ") + e.what();
    }
    return "NO EXCEPTION";
}

#define EXPECT_MESSAGE_HAS(message, fragment)                                                    \
    QVERIFY2(QString::fromStdString(message).contains(QString::fromStdString(fragment)),         \
             qPrintable("message '" + QString::fromStdString(message) + "' does not mention '" + \
                        QString::fromStdString(fragment) + "'"))

ponet::ModelInputs sampleInputs() {
    ponet::ModelInputs in;
    in.input_ids = torch::tensor({101, 110, 111, 102, 112, 113, 102, 0}, torch::kLong).view({1, 8});
    in.attention_mask = in.input_ids.ne(0).to(torch::kLong);
    return in;
}

}  // namespace

class TestConfigIo : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void configRoundTrip();
    void configFileRoundTrip();
    void goldenConfigLoads();
    void clsgsepgDefaultsToTrue_data();
    void clsgsepgDefaultsToTrue();
    void huggingFaceLabels();
    void malformedConfig_data();
    void malformedConfig();

    void loadGoldenWeights();
    void loadReportsMissing();
    void loadReportsUnexpected();
    void loadReportsWrongShape();
    void loadReportsEverythingAtOnce();
    void positionIdsIgnored();
    void tiedDecoder();
    void decoderBiasAlias();
    void bareCheckpointIntoClassifier();
    void preTrainingCheckpointIntoClassifier();
    void positionTableTiling();
    void positionTableNotTileable_data();
    void positionTableNotTileable();

    void saveLoadRoundTrip();
    void saveLoadRoundTripCheck();
    void notAModelDirectory_data();
    void notAModelDirectory();
};

// ---------------------------------------------------------------------------------------------------------------
// config.json

void TestConfigIo::configRoundTrip() {
    ponet::ModelConfig c;
    c.architectures = {"PoNetForSequenceClassification", "SomethingElse"};
    c.model_type = "ponet";
    c.vocab_size = 1000;
    c.hidden_size = 48;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 6;
    c.intermediate_size = 96;
    c.hidden_act = "relu";
    c.hidden_dropout_prob = 0.25;
    c.attention_probs_dropout_prob = 0.1;
    c.max_position_embeddings = 256;
    c.type_vocab_size = 3;
    c.initializer_range = 0.05;
    c.layer_norm_eps = 1e-6;
    c.clsgsepg = false;
    c.position_embedding_type = "absolute";
    c.pad_token_id = 1;
    c.unk_token_id = 2;
    c.cls_token_id = 3;
    c.sep_token_id = 4;
    c.mask_token_id = 5;
    c.id2label = {"negative", "neutral", "positive"};
    c.problem_type = "multi_label_classification";
    c.mixer = ponet::MixerKind::Attention;
    c.variant = ponet::ModelVariant::Bert;
    c.segment_strategy = ponet::SegmentStrategy::Fixed;
    c.segment_num = 7;
    c.classifier_hidden = 33;
    c.extra_json = R"({"custom":{"nested":[1,2.5,null,"x"]},"transformers_version":"4.7.0"})";

    const std::string text = c.to_json_text();
    const auto r = ponet::ModelConfig::from_json_text(text);
    QVERIFY(r.architectures == c.architectures);
    QCOMPARE(r.model_type, c.model_type);
    QCOMPARE(r.vocab_size, c.vocab_size);
    QCOMPARE(r.hidden_size, c.hidden_size);
    QCOMPARE(r.num_hidden_layers, c.num_hidden_layers);
    QCOMPARE(r.num_attention_heads, c.num_attention_heads);
    QCOMPARE(r.intermediate_size, c.intermediate_size);
    QCOMPARE(r.hidden_act, c.hidden_act);
    QCOMPARE(r.hidden_dropout_prob, c.hidden_dropout_prob);
    QCOMPARE(r.attention_probs_dropout_prob, c.attention_probs_dropout_prob);
    QCOMPARE(r.max_position_embeddings, c.max_position_embeddings);
    QCOMPARE(r.type_vocab_size, c.type_vocab_size);
    QCOMPARE(r.initializer_range, c.initializer_range);
    QCOMPARE(r.layer_norm_eps, c.layer_norm_eps);
    QCOMPARE(r.clsgsepg, c.clsgsepg);
    QCOMPARE(r.position_embedding_type, c.position_embedding_type);
    QCOMPARE(r.pad_token_id, c.pad_token_id);
    QCOMPARE(r.unk_token_id, c.unk_token_id);
    QCOMPARE(r.cls_token_id, c.cls_token_id);
    QCOMPARE(r.sep_token_id, c.sep_token_id);
    QCOMPARE(r.mask_token_id, c.mask_token_id);
    QVERIFY(r.id2label == c.id2label);
    QCOMPARE(r.num_labels(), int64_t(3));
    QCOMPARE(r.problem_type, c.problem_type);
    QCOMPARE(r.mixer, c.mixer);
    QCOMPARE(r.variant, c.variant);
    QCOMPARE(r.segment_strategy, c.segment_strategy);
    QCOMPARE(r.segment_num, c.segment_num);
    QCOMPARE(r.classifier_hidden, c.classifier_hidden);
    // Unknown keys survive verbatim.
    QVERIFY2(nlohmann::json::parse(r.extra_json) == nlohmann::json::parse(c.extra_json),
             r.extra_json.c_str());
    // The written file is Hugging Face style: id2label with string keys and label2id beside it.
    const auto j = nlohmann::json::parse(text);
    QCOMPARE(j.at("id2label").at("2").get<std::string>(), std::string("positive"));
    QCOMPARE(j.at("label2id").at("neutral").get<int>(), 1);
    QCOMPARE(j.at("custom").at("nested").size(), size_t(4));
    // A second round trip is a fixed point.
    QCOMPARE(r.to_json_text(), text);

    // The LRA variant's fields too.
    ponet::ModelConfig lra = c;
    lra.variant = ponet::ModelVariant::Lra;
    lra.mixer = ponet::MixerKind::FNet;
    lra.architectures = {"PoNetForLraClassification"};
    const auto r2 = ponet::ModelConfig::from_json_text(lra.to_json_text());
    QCOMPARE(r2.variant, ponet::ModelVariant::Lra);
    QCOMPARE(r2.mixer, ponet::MixerKind::FNet);

    // What the trainer records about the run: written only where known, read back as written.
    QVERIFY(text.find("ponet_max_length") == std::string::npos);
    QVERIFY(text.find("ponet_lra_input") == std::string::npos);
    lra.trained_length = 256;
    lra.lra_input = "bytes";
    const auto r3 = ponet::ModelConfig::from_json_text(lra.to_json_text());
    QCOMPARE(r3.trained_length, int64_t(256));
    QCOMPARE(r3.lra_input, std::string("bytes"));
    QCOMPARE(r3.to_json_text(), lra.to_json_text());
}

void TestConfigIo::configFileRoundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("config.json").toStdString();
    auto c = goldenConfig();
    c.id2label = {"x"};
    c.extra_json = R"({"torch_dtype":"float32"})";
    c.save(path);
    const auto r = ponet::ModelConfig::load(path);
    QCOMPARE(r.to_json_text(), c.to_json_text());
    const std::string missing = invalidInputMessage([&] { ponet::ModelConfig::load(path + ".nope"); });
    EXPECT_MESSAGE_HAS(missing, path + ".nope");
}

void TestConfigIo::goldenConfigLoads() {
    const auto c = goldenConfig();
    QCOMPARE(c.clsgsepg, true);
    QCOMPARE(c.vocab_size, int64_t(160));
    QCOMPARE(c.hidden_size, int64_t(32));
    QCOMPARE(c.num_hidden_layers, int64_t(2));
    QCOMPARE(c.num_attention_heads, int64_t(4));
    QCOMPARE(c.intermediate_size, int64_t(64));
    QCOMPARE(c.max_position_embeddings, int64_t(64));
    QCOMPARE(c.layer_norm_eps, 1e-12);
    QCOMPARE(c.architecture(), std::string("PoNetForPreTraining"));
    QCOMPARE(c.mixer, ponet::MixerKind::PoNet);
    QCOMPARE(c.variant, ponet::ModelVariant::Bert);
    QCOMPARE(c.segment_strategy, ponet::SegmentStrategy::Derived);
    QCOMPARE(c.cls_token_id, int64_t(101));
    QCOMPARE(c.sep_token_id, int64_t(102));
}

void TestConfigIo::clsgsepgDefaultsToTrue_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<bool>("expected");
    QTest::newRow("absent") << R"({"model_type": "ponet"})" << true;
    QTest::newRow("null") << R"({"clsgsepg": null})" << true;
    QTest::newRow("true") << R"({"clsgsepg": true})" << true;
    QTest::newRow("false") << R"({"clsgsepg": false})" << false;
}

void TestConfigIo::clsgsepgDefaultsToTrue() {
    QFETCH(QString, json);
    QFETCH(bool, expected);
    QCOMPARE(ponet::ModelConfig::from_json_text(json.toStdString()).clsgsepg, expected);
}

void TestConfigIo::huggingFaceLabels() {
    // id2label ordered by integer key, whatever the JSON order.
    auto c = ponet::ModelConfig::from_json_text(R"({"id2label": {"1": "pos", "0": "neg", "2": "mixed"}})");
    QVERIFY((c.id2label == std::vector<std::string>{"neg", "pos", "mixed"}));
    // num_labels alone gives LABEL_i names.
    c = ponet::ModelConfig::from_json_text(R"({"num_labels": 3})");
    QVERIFY((c.id2label == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
    // Ids with a gap are refused.
    const auto gap = invalidInputMessage(
        [] { ponet::ModelConfig::from_json_text(R"({"id2label": {"0": "a", "2": "b"}})"); });
    EXPECT_MESSAGE_HAS(gap, "id2label");
}

void TestConfigIo::malformedConfig_data() {
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("not JSON") << "{\"vocab_size\": 12,"
                              << "not valid JSON";
    QTest::newRow("array") << "[1, 2, 3]"
                           << "expected a JSON object";
    QTest::newRow("heads") << R"({"hidden_size": 30, "num_attention_heads": 4})"
                           << "hidden_size 30 is not a multiple of num_attention_heads 4";
    QTest::newRow("wrong type int") << R"({"vocab_size": "big"})"
                                    << "'vocab_size' has the wrong type";
    QTest::newRow("wrong type bool") << R"({"clsgsepg": "yes"})"
                                     << "'clsgsepg' has the wrong type";
    QTest::newRow("wrong type list") << R"({"architectures": "PoNetModel"})"
                                     << "'architectures' has the wrong type";
    QTest::newRow("unknown mixer") << R"({"mixer": "lstm"})"
                                   << "unknown mixer 'lstm'";
    QTest::newRow("unknown variant") << R"({"ponet_variant": "gpt"})"
                                     << "ponet_variant";
    QTest::newRow("unknown segments") << R"({"segment_strategy": "random"})"
                                      << "segment_strategy";
    QTest::newRow("negative size") << R"({"num_hidden_layers": -1})"
                                   << "num_hidden_layers";
    QTest::newRow("activation") << R"({"hidden_act": "swish"})"
                                << "hidden_act";
    QTest::newRow("relative positions") << R"({"position_embedding_type": "relative_key"})"
                                        << "position";
    QTest::newRow("cls outside vocab") << R"({"vocab_size": 100})"
                                       << "cls_token_id";
    QTest::newRow("dropout") << R"({"hidden_dropout_prob": 1.5})"
                             << "hidden_dropout_prob";
    QTest::newRow("problem type") << R"({"problem_type": "ranking"})"
                                  << "problem_type";
    QTest::newRow("bad id2label key") << R"({"id2label": {"zero": "a"}})"
                                      << "id2label";
    QTest::newRow("trained length") << R"({"max_position_embeddings": 512, "ponet_max_length": 1024})"
                                    << "ponet_max_length 1024 is outside [0, max_position_embeddings 512]";
    QTest::newRow("lra input") << R"({"ponet_lra_input": "audio"})"
                               << "unknown ponet_lra_input 'audio'";
}

void TestConfigIo::malformedConfig() {
    QFETCH(QString, json);
    QFETCH(QString, fragment);
    const auto message = invalidInputMessage(
        [&] { ponet::ModelConfig::from_json_text(json.toStdString(), "my/config.json"); });
    EXPECT_MESSAGE_HAS(message, fragment.toStdString());
}

// ---------------------------------------------------------------------------------------------------------------
// load_state

void TestConfigIo::loadGoldenWeights() {
    auto model = ponet::build_model(goldenConfig());
    const auto weights = goldenWeights();
    const auto report = ponet::load_state(*model, weights);
    QVERIFY2(report.ok(), report.describe().c_str());
    QVERIFY(report.ignored.empty() && report.initialised.empty() && report.adapted.empty());
    // Every parameter holds the file's value; the tied decoder is no parameter of its own.
    const auto state = ponet::state_tensors(*model);
    QCOMPARE(state.size(), weights.size());
    for (const auto& [name, t] : weights) {
        QVERIFY2(state.count(name), name.c_str());
        QVERIFY2(torch::equal(state.at(name), t), name.c_str());
    }
}

void TestConfigIo::loadReportsMissing() {
    auto model = ponet::build_model(goldenConfig());
    auto weights = goldenWeights();
    weights.erase("ponet.encoder.layer.1.attention.self.dense_segment.weight");
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("missing from the checkpoint (1)"));
    EXPECT_MESSAGE_HAS(message, std::string("ponet.encoder.layer.1.attention.self.dense_segment.weight"));
    // Missing encoder weights are never excused as "heads".
    ponet::LoadOptions opt;
    opt.allow_missing_heads = true;
    const auto again = invalidInputMessage([&] { ponet::load_state(*model, weights, opt); });
    EXPECT_MESSAGE_HAS(again, std::string("dense_segment.weight"));
}

void TestConfigIo::loadReportsUnexpected() {
    auto model = ponet::build_model(goldenConfig());
    auto weights = goldenWeights();
    weights["ponet.encoder.layer.2.attention.self.dense_q.weight"] = torch::zeros({32, 32});
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("unexpected in the checkpoint (1)"));
    EXPECT_MESSAGE_HAS(message, std::string("ponet.encoder.layer.2.attention.self.dense_q.weight"));
}

void TestConfigIo::loadReportsWrongShape() {
    auto model = ponet::build_model(goldenConfig());
    auto weights = goldenWeights();
    weights["ponet.encoder.layer.0.intermediate.dense.weight"] = torch::zeros({32, 64});
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("wrong shape (1)"));
    EXPECT_MESSAGE_HAS(
        message, std::string("ponet.encoder.layer.0.intermediate.dense.weight: checkpoint [32, 64] vs model "
                             "[64, 32]"));
    // A failed load leaves the model untouched.
    auto fresh = ponet::build_model(goldenConfig());
    randomise(*fresh, 2);
    const auto before = ponet::state_tensors(*fresh);
    invalidInputMessage([&] { ponet::load_state(*fresh, weights); });
    const auto after = ponet::state_tensors(*fresh);
    for (const auto& [name, t] : before) QVERIFY2(torch::equal(after.at(name), t), name.c_str());
}

void TestConfigIo::loadReportsEverythingAtOnce() {
    auto model = ponet::build_model(goldenConfig());
    auto weights = goldenWeights();
    weights.erase("ponet.pooler.dense.bias");
    weights["extra.tensor"] = torch::zeros({2});
    weights["cls.seq_relationship.weight"] = torch::zeros({2, 32});
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("ponet.pooler.dense.bias"));
    EXPECT_MESSAGE_HAS(message, std::string("extra.tensor"));
    EXPECT_MESSAGE_HAS(message,
                       std::string("cls.seq_relationship.weight: checkpoint [2, 32] vs model [3, 32]"));

    // The report's own text lists every category.
    ponet::LoadReport report;
    report.missing = {"a.weight"};
    report.unexpected = {"b.weight"};
    report.mismatched = {"c.weight: checkpoint [1] vs model [2]"};
    QVERIFY(!report.ok());
    const QString text = QString::fromStdString(report.describe());
    for (const char* part : {"missing from the checkpoint (1)", "a.weight",
                             "unexpected in the checkpoint (1)", "b.weight", "wrong shape (1)", "c.weight"})
        QVERIFY2(text.contains(part), qPrintable(text));
    QVERIFY(ponet::LoadReport{}.ok());
}

void TestConfigIo::positionIdsIgnored() {
    auto model = ponet::build_model(goldenConfig());
    auto weights = goldenWeights();
    weights["ponet.embeddings.position_ids"] = torch::arange(64, torch::kLong).unsqueeze(0);
    const auto report = ponet::load_state(*model, weights);
    QVERIFY2(contains(report.ignored, "ponet.embeddings.position_ids"), qPrintable(joined(report.ignored)));
}

void TestConfigIo::tiedDecoder() {
    auto weights = goldenWeights();
    weights["cls.predictions.decoder.weight"] = weights.at("ponet.embeddings.word_embeddings.weight").clone();
    {
        auto model = ponet::build_model(goldenConfig());
        const auto report = ponet::load_state(*model, weights);
        QVERIFY2(contains(report.ignored, "cls.predictions.decoder.weight"),
                 qPrintable(joined(report.ignored)));
    }
    weights["cls.predictions.decoder.weight"][3][5] += 1.0f;
    auto model = ponet::build_model(goldenConfig());
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("cls.predictions.decoder.weight"));
    EXPECT_MESSAGE_HAS(message, std::string("word embeddings"));
}

void TestConfigIo::decoderBiasAlias() {
    auto weights = goldenWeights();
    const auto bias = weights.at("cls.predictions.bias");
    weights.erase("cls.predictions.bias");
    weights["cls.predictions.decoder.bias"] = bias;
    auto model = ponet::build_model(goldenConfig());
    const auto report = ponet::load_state(*model, weights);
    QVERIFY2(report.ok(), report.describe().c_str());
    QVERIFY(torch::equal(ponet::state_tensors(*model).at("cls.predictions.bias"), bias));
}

void TestConfigIo::bareCheckpointIntoClassifier() {
    // A bare PoNetModel saves its parameters without the "ponet." prefix (§1.8).
    auto bare = ponet::build_model(withArchitecture(goldenConfig(), "PoNetModel"));
    randomise(*bare, 7);
    const auto weights = ponet::state_tensors(*bare);
    for (const auto& [name, t] : weights) QVERIFY2(name.rfind("ponet.", 0) != 0, name.c_str());
    QVERIFY(weights.count("embeddings.word_embeddings.weight"));
    QVERIFY(weights.count("pooler.dense.weight"));

    auto config = withArchitecture(goldenConfig(), "PoNetForSequenceClassification");
    config.id2label = {"a", "b", "c"};
    auto classifier = ponet::build_model(config);
    // Without the option the missing classifier is an error naming it ...
    const auto message = invalidInputMessage([&] { ponet::load_state(*classifier, weights); });
    EXPECT_MESSAGE_HAS(message, std::string("classifier.weight"));
    // ... with it, the head keeps its initialisation and is reported.
    ponet::LoadOptions opt;
    opt.allow_missing_heads = true;
    const auto report = ponet::load_state(*classifier, weights, opt);
    QVERIFY(report.ok());
    QVERIFY2(
        contains(report.initialised, "classifier.weight") && contains(report.initialised, "classifier.bias"),
        qPrintable(joined(report.initialised)));
    QCOMPARE(report.initialised.size(), size_t(2));
    const auto loaded = ponet::state_tensors(*classifier);
    for (const auto& [name, t] : weights) QVERIFY2(torch::equal(loaded.at("ponet." + name), t), name.c_str());
    // Same encoder, same pooled output.
    bare->eval();
    classifier->eval();
    torch::NoGradGuard no_grad;
    QVERIFY(torch::equal(bare->forward(sampleInputs()).encoder.pooler_output,
                         classifier->forward(sampleInputs()).encoder.pooler_output));
}

void TestConfigIo::preTrainingCheckpointIntoClassifier() {
    auto config = withArchitecture(goldenConfig(), "PoNetForSequenceClassification");
    auto classifier = ponet::build_model(config);
    ponet::LoadOptions opt;
    opt.allow_missing_heads = true;
    const auto weights = goldenWeights();
    const auto report = ponet::load_state(*classifier, weights, opt);
    QVERIFY2(report.ok(), report.describe().c_str());
    int cls = 0;
    for (const auto& [name, t] : weights)
        if (name.rfind("cls.", 0) == 0) {
            ++cls;
            QVERIFY2(contains(report.ignored, name), qPrintable(joined(report.ignored)));
        }
    QCOMPARE(cls, 7);
    QVERIFY2(contains(report.initialised, "classifier.weight"), qPrintable(joined(report.initialised)));
    const auto loaded = ponet::state_tensors(*classifier);
    QVERIFY(torch::equal(loaded.at("ponet.encoder.layer.1.output.dense.weight"),
                         weights.at("ponet.encoder.layer.1.output.dense.weight")));

    // load_model_dir with a config override does the same from the directory.
    auto dir = ponet::load_model_dir(goldenDir(), torch::kCPU, opt, &config);
    QCOMPARE(dir.model->config().architecture(), std::string("PoNetForSequenceClassification"));
    QVERIFY(contains(dir.report.initialised, "classifier.bias"));
    QVERIFY(contains(dir.report.ignored, "cls.seq_relationship.weight"));
}

void TestConfigIo::positionTableTiling() {
    auto config = goldenConfig();
    config.max_position_embeddings = 128;
    auto model = ponet::build_model(config);
    const auto weights = goldenWeights();
    const auto report = ponet::load_state(*model, weights);
    QVERIFY2(report.ok(), report.describe().c_str());
    QVERIFY2(contains(report.adapted, "ponet.embeddings.position_embeddings.weight"),
             qPrintable(joined(report.adapted)));
    QCOMPARE(report.adapted.size(), size_t(1));
    const auto table = ponet::state_tensors(*model).at("ponet.embeddings.position_embeddings.weight");
    const auto source = weights.at("ponet.embeddings.position_embeddings.weight");
    QVERIFY(table.sizes() == torch::IntArrayRef({128, 32}));
    for (int64_t k = 0; k < 2; ++k)
        for (int64_t j = 0; j < 64; ++j)
            QVERIFY2(torch::equal(table[k * 64 + j], source[j]),
                     qPrintable(QString("row %1").arg(k * 64 + j)));
}

void TestConfigIo::positionTableNotTileable_data() {
    QTest::addColumn<qint64>("positions");
    QTest::newRow("not a multiple") << qint64(96);
    QTest::newRow("shorter") << qint64(32);
}

void TestConfigIo::positionTableNotTileable() {
    QFETCH(qint64, positions);
    auto config = goldenConfig();
    config.max_position_embeddings = positions;
    auto model = ponet::build_model(config);
    const auto message = invalidInputMessage([&] { ponet::load_state(*model, goldenWeights()); });
    EXPECT_MESSAGE_HAS(message,
                       "ponet.embeddings.position_embeddings.weight: checkpoint [64, 32] vs model [" +
                           std::to_string(positions) + ", 32]");
}

// ---------------------------------------------------------------------------------------------------------------
// Model directories

void TestConfigIo::saveLoadRoundTrip() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    auto config = withArchitecture(goldenConfig(), "PoNetForSequenceClassification");
    config.id2label = {"no", "yes"};
    config.extra_json = R"({"finetuned_from":"golden"})";
    auto model = ponet::build_model(config);
    randomise(*model, 11);
    const std::string dir = tmp.filePath("nested/model").toStdString();
    ponet::save_model_dir(*model, dir);
    QVERIFY(ponet::is_model_dir(dir));

    auto loaded = ponet::load_model_dir(dir);
    QVERIFY2(loaded.report.ok(), loaded.report.describe().c_str());
    QCOMPARE(loaded.model->config().to_json_text(), config.to_json_text());
    const auto a = ponet::state_tensors(*model), b = ponet::state_tensors(*loaded.model);
    QCOMPARE(a.size(), b.size());
    for (const auto& [name, t] : a) {
        QVERIFY2(b.count(name), name.c_str());
        QVERIFY2(t.scalar_type() == b.at(name).scalar_type(), name.c_str());
        QVERIFY2(torch::equal(t, b.at(name)), name.c_str());
    }
    model->eval();
    torch::NoGradGuard no_grad;
    const auto in = sampleInputs();
    QVERIFY(torch::equal(model->forward(in).logits, loaded.model->forward(in).logits));
    QVERIFY(torch::equal(model->forward(in).encoder.last_hidden_state,
                         loaded.model->forward(in).encoder.last_hidden_state));
    // Saving over an existing directory replaces it.
    randomise(*model, 12);
    ponet::save_model_dir(*model, dir);
    const auto again = ponet::state_tensors(*ponet::load_model_dir(dir).model);
    QVERIFY(
        torch::equal(again.at("classifier.weight"), ponet::state_tensors(*model).at("classifier.weight")));
}

void TestConfigIo::saveLoadRoundTripCheck() {
    const auto r = ponet::check::save_load_roundtrip(torch::kCPU);
    QVERIFY2(r.passed, ponet::format_result_line(r).c_str());
}

void TestConfigIo::notAModelDirectory_data() {
    QTest::addColumn<QString>("missing");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("weights") << "model.safetensors"
                             << "model.safetensors is missing";
    QTest::newRow("config") << "config.json"
                            << "config.json is missing";
    QTest::newRow("directory") << ""
                               << "is not a directory";
}

void TestConfigIo::notAModelDirectory() {
    QFETCH(QString, missing);
    QFETCH(QString, fragment);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    std::string dir = tmp.filePath("model").toStdString();
    if (missing.isEmpty()) {
        dir = tmp.filePath("does-not-exist").toStdString();
    } else {
        fs::create_directories(dir);
        for (const char* f : {"config.json", "model.safetensors"})
            if (missing != f) fs::copy_file(fs::path(goldenDir()) / f, fs::path(dir) / f);
    }
    QVERIFY(!ponet::is_model_dir(dir));
    const auto message = invalidInputMessage([&] { ponet::load_model_dir(dir); });
    EXPECT_MESSAGE_HAS(message, fragment.toStdString());
    EXPECT_MESSAGE_HAS(message, dir);
}

QTEST_GUILESS_MAIN(TestConfigIo)
#include "test_config_io.moc"
