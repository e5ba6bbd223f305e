// Tests of the model core: golden parity, segment ids (PONET-SPEC §1.5, Appendix A.1, §4.2.2), the PoNet
// mixing (§1.4) and its inspection hook, the FNet and attention mixers, the LRA skeleton (§4.2) and input
// validation.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/check/check_result.h"
#include "core/check/checks.h"
#include "core/io/atomic_file.h"
#include "core/kernels/linear_fused.h"
#include "core/kernels/ponet_mixing.h"
#include "core/kernels/ponet_mixing_fused.h"
#include "core/model/model_config.h"
#include "core/model/model_summary.h"
#include "core/model/ponet_model.h"
#include "core/model/segments.h"
#include "core/util/error.h"
#include "core/util/paths.h"

#include <QList>
#include <QString>
#include <QTest>

namespace {

namespace fs = std::filesystem;

std::string resourcesDir() {
    const std::string dir = ponet::resources_dir();
    if (dir.empty()) throw std::runtime_error("no resources directory (set PONET_RESOURCES_DIR)");
    return dir;
}

std::string goldenDir() {
    return (fs::path(resourcesDir()) / "golden" / "tiny").string();
}

ponet::ModelConfig builtinConfig(const std::string& name) {
    return ponet::ModelConfig::load((fs::path(resourcesDir()) / "models" / name / "config.json").string());
}

// The golden model's shape (2 layers, hidden 32, 4 heads, vocab 160).
ponet::ModelConfig tinyConfig(const std::string& arch, ponet::MixerKind mixer = ponet::MixerKind::PoNet) {
    return ponet::check::tiny_config(arch, mixer);
}

// N(0, 0.5) everywhere, so that zero biases and unit LayerNorms cannot hide a mistake.
void randomise(torch::nn::Module& m, uint64_t seed) {
    torch::NoGradGuard no_grad;
    torch::manual_seed(seed);
    for (auto& p : m.parameters()) p.normal_(0.0, 0.5);
}

torch::Tensor ids(std::initializer_list<std::initializer_list<int64_t>> rows) {
    std::vector<torch::Tensor> out;
    for (const auto& r : rows) out.push_back(torch::tensor(std::vector<int64_t>(r), torch::kLong));
    return torch::stack(out);
}

QString str(const torch::Tensor& t) {
    std::ostringstream os;
    os << t;
    return QString::fromStdString(os.str());
}

bool allFinite(const torch::Tensor& t) {
    return torch::isfinite(t).all().item<bool>();
}

double maxAbs(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// Two rows in the pre-training layout with padding at the end of row 1:
//   row 0: [CLS] a b [SEP] c d e [SEP] f [SEP]
//   row 1: [CLS] a [SEP] b c [SEP] [PAD] [PAD] [PAD] [PAD]
struct MixCase {
    torch::Tensor input_ids;
    ponet::PoNetMixingInputs in;
};

MixCase mixCase(bool clsgsepg, uint64_t seed) {
    torch::manual_seed(seed);
    MixCase c;
    c.input_ids =
        ids({{101, 110, 111, 102, 112, 113, 114, 102, 115, 102}, {101, 120, 102, 121, 122, 102, 0, 0, 0, 0}});
    const int64_t B = 2, L = 10, D = 8;
    auto& in = c.in;
    in.q = torch::randn({B, L, D});
    in.k = torch::randn({B, L, D});
    in.o = torch::randn({B, L, D});
    in.s = torch::randn({B, L, D});
    in.l = torch::randn({B, L, D});
    in.keep = c.input_ids.ne(0);
    in.special = ponet::special_token_mask(c.input_ids, 101, 102);
    in.segment_ids = ponet::derive_segment_ids(c.input_ids, 101, 102);
    in.heads = 2;
    in.clsgsepg = clsgsepg;
    return c;
}

// g' of GA (§1.4.1–1.4.2) in float64, written independently of the kernel: [B, H, d].
torch::Tensor globalAggregate(const ponet::PoNetMixingInputs& in) {
    const auto B = in.q.size(0), L = in.q.size(1), D = in.q.size(2), H = in.heads, d = D / H;
    auto q = in.q.to(torch::kDouble).view({B, L, H, d}), k = in.k.to(torch::kDouble).view({B, L, H, d});
    auto out = torch::zeros({B, H, d}, torch::kDouble);
    for (int64_t b = 0; b < B; ++b) {
        auto keep = in.keep[b].nonzero().squeeze(1);
        for (int64_t h = 0; h < H; ++h) {
            auto g = q[b].index_select(0, keep).select(1, h).mean(0);  // [d]
            auto z = torch::mv(k[b].index_select(0, keep).select(1, h), g) / std::sqrt(double(d));
            auto alpha = torch::softmax(z, 0);                                          // over real tokens
            out[b][h] = torch::mv(k[b].index_select(0, keep).select(1, h).t(), alpha);  // values = keys
        }
    }
    return out;
}

// A long mixing problem (several 64-token blocks of the fused CPU path, large enough for its threads) whose
// projections hold a handful of integers, so tied segment maxima and tied window maxima are everywhere. Row 0 has
// arbitrary segment ids; row 1 sentences of 16 tokens and padding (in a segment with real tokens and alone).
ponet::PoNetMixingInputs tiedCase(torch::ScalarType dtype, uint64_t seed) {
    torch::manual_seed(static_cast<int64_t>(seed));
    const int64_t B = 2, L = 300, H = 12, D = 768;
    ponet::PoNetMixingInputs in;
    // Halves, never 0: LibTorch 1.13's scatter_reduce backward counts its zero-initialised `self` as one more tie
    // where a segment's maximum is exactly 0 (include_self = false notwithstanding); later versions do not.
    for (auto* t : {&in.q, &in.k, &in.o, &in.s, &in.l}) *t = (torch::randint(-2, 3, {B, L, D}) + 0.5).to(dtype);
    in.keep = torch::ones({B, L}, torch::kBool);
    in.keep[1].narrow(0, 250, L - 250).fill_(false);
    in.special = torch::zeros({B, L}, torch::kBool);
    for (int64_t i = 0; i < L; i += 40) in.special.index_put_({torch::indexing::Slice(), i}, true);
    in.special[1][249] = true;
    // Tokens 240-279 (real and padding) share segment 15; padding 280-299 is a segment of sentinels only.
    auto seg1 = torch::arange(L, torch::kLong).div(16, "floor").clamp_max(15);
    seg1.narrow(0, 280, L - 280).fill_(18);
    in.segment_ids = torch::stack({torch::randint(0, 20, {L}, torch::kLong), seg1});
    in.heads = H;
    in.clsgsepg = true;
    return in;
}

struct MixGrads {
    torch::Tensor y, alpha;
    std::vector<torch::Tensor> grads;  // q, k, o, s, l
};

MixGrads mixWithGrads(const ponet::PoNetMixingInputs& base, ponet::MixerImpl impl) {
    torch::manual_seed(5);
    auto in = base;
    std::vector<torch::Tensor*> leaves{&in.q, &in.k, &in.o, &in.s, &in.l};
    for (auto* t : leaves) *t = t->detach().clone().requires_grad_(true);
    const auto out = ponet::ponet_mix(in, impl);
    const auto gy = torch::randn(out.y.sizes()), ga = torch::randn(out.ga_weights.sizes());
    ((out.y.to(torch::kFloat) * gy).sum() + (out.ga_weights.to(torch::kFloat) * ga).sum()).backward();
    MixGrads r{out.y.detach(), out.ga_weights.detach(), {}};
    for (auto* t : leaves) r.grads.push_back(t->grad());
    return r;
}

double relL2(const torch::Tensor& got, const torch::Tensor& want) {
    const auto w = want.to(torch::kDouble);
    return ((got.to(torch::kDouble) - w).norm() / w.norm().clamp_min(1e-30)).item<double>();
}

void expectInvalidInput(const std::function<void()>& fn, const QString& fragment) {
    try {
        fn();
        QFAIL(qPrintable("no ponet::InvalidInput thrown; expected one mentioning '" + fragment + "'"));
    } catch (const ponet::InvalidInput& e) {
        QVERIFY2(
            QString::fromUtf8(e.what()).contains(fragment),
            qPrintable("message '" + QString::fromUtf8(e.what()) + "' does not mention '" + fragment + "'"));
    } catch (const std::exception& e) {
        QFAIL(qPrintable("expected ponet::InvalidInput mentioning '" + fragment +
                         "', got another exception: " + QString::fromUtf8(e.what()).left(300)));
    }
}

}  // namespace

class TestModel : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase();

    void goldenParity_data();
    void goldenParity();
    void goldenSegmentIds();
    void goldenCopyMatchesShared();
    void derivedSegmentIds_data();
    void derivedSegmentIds();
    void derivedSegmentIdsBatched();
    void fixedSegmentPartitions_data();
    void fixedSegmentPartitions();
    void segmentWidthPromise();

    void mixingVsNaive_data();
    void mixingVsNaive();
    void fusedVsReference_data();
    void fusedVsReference();
    void fusedDispatch();
    void fusedTies_data();
    void fusedTies();
    void fusedIndependentOfThreads();
    void specialTokensSeeOnlyGlobal();
    void specialTokensWithoutTrick();
    void paddingRowsAreZero_data();
    void paddingRowsAreZero();
    void allPaddingRowIsFinite();
    void negativeSegmentIdsThrow();
    void paddingInvariance_data();
    void paddingInvariance();
    void explicitSegmentsPath();
    void fnetVsDft();
    void linearDropoutAdd();
    void attentionVsSoftmax();
    void traceWinners();

    void parameterCounts_data();
    void parameterCounts();
    void lraForwardMeanPooling();
    void mixerSwitch_data();
    void mixerSwitch();
    void gradientCheckpointing_data();
    void gradientCheckpointing();
    void inputsValidation_data();
    void inputsValidation();
};

void TestModel::initTestCase() {
    torch::set_num_threads(2);
    QVERIFY2(fs::is_regular_file(fs::path(goldenDir()) / "io.safetensors"), goldenDir().c_str());
}

// ---------------------------------------------------------------------------------------------------------------
// Golden vectors and segment ids

void TestModel::goldenParity_data() {
    QTest::addColumn<int>("impl");
    QTest::newRow("fused") << static_cast<int>(ponet::MixerImpl::Fused);
    QTest::newRow("reference") << static_cast<int>(ponet::MixerImpl::Reference);
}

void TestModel::goldenParity() {
    QFETCH(int, impl);
    const auto results =
        ponet::check::golden_parity(goldenDir(), torch::kCPU, static_cast<ponet::MixerImpl>(impl));
    std::set<std::string> names;
    int grads = 0;
    for (const auto& r : results) {
        QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));
        names.insert(r.name);
        grads += r.name.rfind("golden grad.", 0) == 0;
    }
    const std::vector<std::string> outputs{
        "last_hidden_state", "pooler_output",   "prediction_logits", "seq_relationship_logits",
        "hidden_states.0",   "hidden_states.1", "hidden_states.2",   "ga_attention.0",
        "ga_attention.1",    "mlm_loss",        "sso_loss"};
    const std::string tag = impl == static_cast<int>(ponet::MixerImpl::Reference) ? " [reference]" : "";
    for (const auto& o : outputs) QVERIFY2(names.count("golden " + o + tag), ("no result for " + o).c_str());
    QCOMPARE(grads, 54);  // every parameter of the golden model
    QCOMPARE(results.size(), outputs.size() + 54);
}

void TestModel::goldenSegmentIds() {
    const auto r = ponet::check::golden_segment_ids(goldenDir());
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));
}

void TestModel::derivedSegmentIds_data() {
    QTest::addColumn<QList<qint64>>("input");
    QTest::addColumn<QList<qint64>>("expected");
    // Appendix A.1, R3 column.
    QTest::newRow("A.1 pair") << QList<qint64>{101, 7, 8, 102, 9, 10, 11, 102, 0, 0}
                              << QList<qint64>{0, 1, 1, 2, 3, 3, 3, 4, 5, 5};
    QTest::newRow("A.1 single") << QList<qint64>{101, 5, 102, 0, 0, 0, 0, 0, 0, 0}
                                << QList<qint64>{0, 1, 2, 3, 3, 3, 3, 3, 3, 3};
    QTest::newRow("A.1 no [CLS]") << QList<qint64>{7, 8, 102, 9, 102, 0, 0, 0, 0, 0}
                                  << QList<qint64>{0, 0, 1, 2, 3, 4, 4, 4, 4, 4};
    // §1.5 GLUE example: [CLS] a b [SEP] c d [SEP] [PAD] [PAD].
    QTest::newRow("§1.5 GLUE") << QList<qint64>{101, 2000, 2001, 102, 2002, 2003, 102, 0, 0}
                               << QList<qint64>{0, 1, 1, 2, 3, 3, 4, 5, 5};
    QTest::newRow("no specials") << QList<qint64>{5, 6, 7} << QList<qint64>{0, 0, 0};
    // The §1.5 formula (C_i − 1 with c_i = σ_i + σ_{i−1}) skips ids between adjacent specials; only
    // distinctness matters to SMP, and the reference numbers them this way.
    QTest::newRow("adjacent specials") << QList<qint64>{101, 102, 102, 9} << QList<qint64>{0, 2, 4, 5};
}

void TestModel::derivedSegmentIds() {
    QFETCH(QList<qint64>, input);
    QFETCH(QList<qint64>, expected);
    auto in = torch::tensor(std::vector<int64_t>(input.begin(), input.end()), torch::kLong).unsqueeze(0);
    auto want =
        torch::tensor(std::vector<int64_t>(expected.begin(), expected.end()), torch::kLong).unsqueeze(0);
    auto got = ponet::derive_segment_ids(in, 101, 102);
    QVERIFY2(torch::equal(got, want), qPrintable("got " + str(got) + " expected " + str(want)));
}

void TestModel::derivedSegmentIdsBatched() {
    // The [CLS] rule is per row: the three A.1 rows in one batch give the same ids as one at a time.
    auto in = ids({{101, 7, 8, 102, 9, 10, 11, 102, 0, 0},
                   {101, 5, 102, 0, 0, 0, 0, 0, 0, 0},
                   {7, 8, 102, 9, 102, 0, 0, 0, 0, 0}});
    auto want =
        ids({{0, 1, 1, 2, 3, 3, 3, 4, 5, 5}, {0, 1, 2, 3, 3, 3, 3, 3, 3, 3}, {0, 0, 1, 2, 3, 4, 4, 4, 4, 4}});
    auto got = ponet::derive_segment_ids(in, 101, 102);
    QVERIFY2(torch::equal(got, want), qPrintable(str(got)));
    // The ids come from the config, not hard-coded 101/102 (§7 #1).
    auto other = ponet::derive_segment_ids(ids({{1, 7, 2, 9, 2}}), 1, 2);
    QVERIFY2(torch::equal(other, ids({{0, 1, 2, 3, 4}})), qPrintable(str(other)));
}

void TestModel::fixedSegmentPartitions_data() {
    QTest::addColumn<qint64>("length");
    QTest::addColumn<qint64>("segmentNum");
    QTest::addColumn<qint64>("segLen");
    QTest::addColumn<qint64>("segments");
    QTest::addColumn<qint64>("lastSize");
    // §4.2.2 / Appendix A.3.
    QTest::newRow("ListOps") << qint64(2048) << qint64(64) << qint64(33) << qint64(63) << qint64(2);
    QTest::newRow("Text") << qint64(4096) << qint64(4096) << qint64(2) << qint64(2048) << qint64(2);
    QTest::newRow("Retrieval") << qint64(4096) << qint64(64) << qint64(65) << qint64(64) << qint64(1);
    QTest::newRow("Image") << qint64(1024) << qint64(32) << qint64(33) << qint64(32) << qint64(1);
    QTest::newRow("Pathfinder") << qint64(1024) << qint64(1) << qint64(1025) << qint64(1) << qint64(1024);
    // The text preset below its 4,096 segments: one per token, so the SMP buffers hold 512 segments, not 4,096.
    QTest::newRow("Text at 512") << qint64(512) << qint64(4096) << qint64(1) << qint64(512) << qint64(1);
    QTest::newRow("Text at 16K") << qint64(16384) << qint64(4096) << qint64(5) << qint64(3277) << qint64(4);
    QTest::newRow("one token") << qint64(1) << qint64(64) << qint64(1) << qint64(1) << qint64(1);
}

void TestModel::fixedSegmentPartitions() {
    QFETCH(qint64, length);
    QFETCH(qint64, segmentNum);
    QFETCH(qint64, segLen);
    QFETCH(qint64, segments);
    QFETCH(qint64, lastSize);
    auto s = ponet::fixed_segment_ids(3, length, segmentNum, torch::kCPU);
    QCOMPARE(s.sizes().vec(), (std::vector<int64_t>{3, length}));
    QCOMPARE(s.scalar_type(), torch::kLong);
    QVERIFY(torch::equal(s[0], s[2]));
    const auto row = s[0];
    const int64_t last = row.max().item<int64_t>();
    QCOMPARE(last + 1, segments);
    QCOMPARE(ponet::fixed_segment_count(length, segmentNum), segments);
    QCOMPARE(row.eq(last).sum().item<int64_t>(), lastSize);
    // Contiguous chunks of seg_len tokens from position 0, ids without gaps.
    QCOMPARE(row.eq(0).sum().item<int64_t>(), std::min(segLen, length));
    QCOMPARE(std::get<0>(at::_unique(row)).numel(), segments);
    QVERIFY((row.narrow(0, 1, length - 1) - row.narrow(0, 0, length - 1)).ge(0).all().item<bool>());
}

// complete_inputs promises the width of the fixed segments it made (ids = position / width), keeps the promise
// through a second completion, and drops it when validation finds the ids replaced.
void TestModel::segmentWidthPromise() {
    auto config = tinyConfig("PoNetForLraClassification");
    config.variant = ponet::ModelVariant::Lra;
    config.segment_strategy = ponet::SegmentStrategy::Fixed;
    config.segment_num = 8;
    auto with_length = [&](int64_t L) {
        ponet::ModelInputs in;
        in.input_ids = torch::randint(1, 20, {2, L}, torch::kLong);
        return in;
    };
    auto short_row = ponet::complete_inputs(config, with_length(7), false);
    QCOMPARE(short_row.segment_width, int64_t(1));
    QCOMPARE(short_row.num_segments, int64_t(7));
    QVERIFY(torch::equal(short_row.segment_ids[1], torch::arange(7, torch::kLong)));
    // floor(L / 8) + 1 tokens per segment, the ids matching the promise.
    for (const int64_t L : {8, 15, 16, 30}) {
        const auto in = ponet::complete_inputs(config, with_length(L), true);
        const int64_t w = L / 8 + 1;
        QCOMPARE(in.segment_width, w);
        QVERIFY(torch::equal(in.segment_ids[0], torch::arange(L, torch::kLong).div(w, "floor")));
    }
    auto again = ponet::complete_inputs(config, short_row, true);
    QCOMPARE(again.segment_width, int64_t(1));
    auto wide = ponet::complete_inputs(config, with_length(20), false);
    QCOMPARE(ponet::complete_inputs(config, wide, true).segment_width, int64_t(3));
    auto replaced = short_row;
    replaced.segment_ids = torch::zeros({2, 7}, torch::kLong);
    QCOMPARE(ponet::complete_inputs(config, replaced, true).segment_width, int64_t(0));
    auto shifted = wide;
    shifted.segment_ids = (torch::arange(20, torch::kLong) + 1).div(3, "floor").expand({2, 20}).contiguous();
    QCOMPARE(ponet::complete_inputs(config, shifted, true).segment_width, int64_t(0));
    auto own = with_length(7);
    own.segment_ids = torch::arange(7, torch::kLong).unsqueeze(0).expand({2, 7}).contiguous();
    QCOMPARE(ponet::complete_inputs(config, own, true).segment_width, int64_t(0));  // a caller's ids: no promise
    config.segment_strategy = ponet::SegmentStrategy::Derived;
    QCOMPARE(ponet::complete_inputs(config, with_length(7), false).segment_width, int64_t(0));
}

// ---------------------------------------------------------------------------------------------------------------
// The PoNet mixing

void TestModel::mixingVsNaive_data() {
    QTest::addColumn<bool>("clsgsepg");
    QTest::addColumn<bool>("explicitSegments");
    QTest::newRow("clsgsepg on, derived") << true << false;
    QTest::newRow("clsgsepg on, explicit") << true << true;
    QTest::newRow("clsgsepg off, derived") << false << false;
    QTest::newRow("clsgsepg off, explicit") << false << true;
}

void TestModel::mixingVsNaive() {
    QFETCH(bool, clsgsepg);
    QFETCH(bool, explicitSegments);
    for (uint64_t seed : {1u, 2u, 3u}) {
        const auto r = ponet::check::mixing_vs_naive(torch::kCPU, clsgsepg, explicitSegments, seed);
        QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));
    }
}

void TestModel::fusedVsReference_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<bool>("large");
    QTest::addColumn<bool>("packed");
    QTest::newRow("fp32, random shapes") << static_cast<int>(torch::kFloat) << false << false;
    QTest::newRow("fp32, long rows") << static_cast<int>(torch::kFloat) << true << false;
    QTest::newRow("bf16, random shapes") << static_cast<int>(torch::kBFloat16) << false << false;
    QTest::newRow("bf16, long rows") << static_cast<int>(torch::kBFloat16) << true << false;
    QTest::newRow("fp16, random shapes") << static_cast<int>(torch::kHalf) << false << false;
    QTest::newRow("packed, fp32, random shapes") << static_cast<int>(torch::kFloat) << false << true;
    QTest::newRow("packed, fp32, long rows") << static_cast<int>(torch::kFloat) << true << true;
    QTest::newRow("packed, bf16, random shapes") << static_cast<int>(torch::kBFloat16) << false << true;
}

void TestModel::fusedVsReference() {
    QFETCH(int, dtype);
    QFETCH(bool, large);
    QFETCH(bool, packed);
    for (uint64_t seed : {11u, 12u, 13u}) {
        const auto r =
            ponet::check::fused_vs_reference(torch::kCPU, static_cast<torch::ScalarType>(dtype), seed, large, packed);
        QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r) + " " + r.detail)));
    }
}

void TestModel::fusedDispatch() {
    auto c = mixCase(/*clsgsepg=*/true, 7);
    // Auto takes the fused kernels on the CPU too (faster whole training steps there since the row-block rewrite);
    // Fused asks for them; the trace forces the reference path (its intermediates are recorded).
    QCOMPARE(QString::fromStdString(ponet::resolved_mixer_impl(ponet::MixerImpl::Auto, torch::kCPU)),
             QStringLiteral("fused-cpu"));
    QCOMPARE(QString::fromStdString(ponet::resolved_mixer_impl(ponet::MixerImpl::Fused, torch::kCPU)),
             QStringLiteral("fused-cpu"));
    QCOMPARE(QString::fromStdString(ponet::resolved_mixer_impl(ponet::MixerImpl::Reference, torch::kCPU)),
             QStringLiteral("reference"));
    const auto fused = ponet::ponet_mix(c.in, ponet::MixerImpl::Fused);
    const auto ref = ponet::ponet_mix(c.in, ponet::MixerImpl::Reference);
    QVERIFY(torch::allclose(fused.y, ref.y, 1e-5, 1e-5));
    ponet::MixingTrace trace;
    ponet::ponet_mix(c.in, ponet::MixerImpl::Fused, &trace);
    QVERIFY(trace.smp_winner.defined());
    // Fused refuses what it cannot take with the reason; the reference path still takes it.
    auto bad = c.in;
    for (auto* t : {&bad.q, &bad.k, &bad.o, &bad.s, &bad.l}) *t = t->to(torch::kDouble);
    std::string why;
    QVERIFY(!ponet::fused_mixing_supported(bad, &why));
    QVERIFY(QString::fromStdString(why).contains("dtype"));
    expectInvalidInput([&] { ponet::ponet_mix(bad, ponet::MixerImpl::Fused); }, "fused");
    QVERIFY(ponet::ponet_mix(bad, ponet::MixerImpl::Auto).y.defined());
    // A promised segment count that the ids exceed is refused, never written out of bounds.
    auto lie = c.in;
    lie.num_segments = 1;
    expectInvalidInput([&] { ponet::ponet_mix(lie, ponet::MixerImpl::Fused); }, "segment id");
}

void TestModel::fusedTies_data() {
    QTest::addColumn<int>("dtype");
    QTest::newRow("fp32") << static_cast<int>(torch::kFloat);
    QTest::newRow("bf16") << static_cast<int>(torch::kBFloat16);
}

void TestModel::fusedTies() {
    // Tied segment maxima share the gradient evenly (scatter_reduce "amax"); a tied window goes to its leftmost
    // token (max_pool1d). Getting either wrong moves whole gradient entries, far beyond the tolerance.
    QFETCH(int, dtype);
    const auto type = static_cast<torch::ScalarType>(dtype);
    const double tol = type == torch::kFloat ? 1e-5 : 1e-2;
    const auto in = tiedCase(type, 73);
    const auto want = mixWithGrads(in, ponet::MixerImpl::Reference);
    const auto got = mixWithGrads(in, ponet::MixerImpl::Fused);
    QVERIFY2(relL2(got.y, want.y) <= tol, qPrintable(QString("y: %1").arg(relL2(got.y, want.y))));
    QVERIFY2(relL2(got.alpha, want.alpha) <= tol, qPrintable(QString("alpha: %1").arg(relL2(got.alpha, want.alpha))));
    static const char* names[] = {"dq", "dk", "do", "ds", "dl"};
    for (size_t i = 0; i < 5; ++i) {
        QVERIFY2(got.grads[i].defined() && want.grads[i].defined(), names[i]);
        const double e = relL2(got.grads[i], want.grads[i]);
        QVERIFY2(e <= tol, qPrintable(QString("%1: rel L2 %2").arg(names[i]).arg(e)));
    }
}

void TestModel::fusedIndependentOfThreads() {
    // The fused CPU path merges per-block partials in block order, so one thread and several give the same bits.
    const int saved = at::get_num_threads();
    auto in = tiedCase(torch::kFloat, 79);
    for (auto* t : {&in.q, &in.k, &in.o, &in.s, &in.l}) *t = torch::randn(t->sizes());
    at::set_num_threads(1);
    const auto one = mixWithGrads(in, ponet::MixerImpl::Fused);
    at::set_num_threads(3);
    const auto three = mixWithGrads(in, ponet::MixerImpl::Fused);
    at::set_num_threads(saved);
    QVERIFY(torch::equal(one.y, three.y));
    QVERIFY(torch::equal(one.alpha, three.alpha));
    for (size_t i = 0; i < 5; ++i) QVERIFY(torch::equal(one.grads[i], three.grads[i]));
}

void TestModel::specialTokensSeeOnlyGlobal() {
    auto c = mixCase(/*clsgsepg=*/true, 41);
    ponet::MixingTrace trace;
    const auto out = ponet::ponet_mix_reference(c.in, &trace);
    const auto spec = c.in.special;  // [B, L]
    // [CLS]/[SEP] rows of SMP and LMP are exactly 0 (§1.4.5).
    QVERIFY(trace.smp.index({spec}).eq(0).all().item<bool>());
    QVERIFY(trace.lmp.index({spec}).eq(0).all().item<bool>());
    // ... so their output is g' ⊙ O, with g' computed here independently.
    const auto B = c.in.q.size(0), L = c.in.q.size(1), D = c.in.q.size(2);
    auto gp = globalAggregate(c.in).reshape({B, 1, D}).expand({B, L, D});
    auto want = gp * c.in.o.to(torch::kDouble);
    const double err = maxAbs(out.y.index({spec}), want.index({spec}));
    QVERIFY2(err < 1e-5, qPrintable(QString("special rows differ from g'*O by %1").arg(err)));
    // Ordinary tokens also receive SMP/LMP, so they differ from g' ⊙ O.
    auto ordinary = c.in.keep.logical_and(spec.logical_not());
    QVERIFY(maxAbs(out.y.index({ordinary}), want.index({ordinary})) > 1e-2);
    // A special token never wins a neighbour's local max (it is at the sentinel before LMP).
    auto winner_is_special =
        spec.unsqueeze(-1).expand({B, L, D}).to(torch::kLong).gather(1, trace.lmp_winner).to(torch::kBool);
    QVERIFY(!winner_is_special.index({ordinary}).any().item<bool>());
}

void TestModel::specialTokensWithoutTrick() {
    auto c = mixCase(/*clsgsepg=*/false, 43);
    ponet::MixingTrace trace;
    ponet::ponet_mix_reference(c.in, &trace);
    // Each special token is a segment of its own, so without the trick its SMP is its own S row (§1.4.6) ...
    const auto spec = c.in.special;
    QVERIFY(torch::equal(trace.smp.index({spec}), c.in.s.index({spec})));
    // ... and its LMP is the max over its window of real tokens.
    auto l = torch::where(c.in.keep.unsqueeze(-1), c.in.l, torch::full({}, ponet::kPoolingSentinel));
    auto window = std::get<0>(torch::stack({torch::roll(l, 1, 1), l, torch::roll(l, -1, 1)}).max(0));
    // Position 0's left neighbour and the last position's right neighbour do not exist.
    window.select(1, 0).copy_(torch::max(l.select(1, 0), l.select(1, 1)));
    window.select(1, 9).copy_(torch::max(l.select(1, 8), l.select(1, 9)));
    QVERIFY(torch::equal(trace.lmp.index({c.in.keep}), window.index({c.in.keep})));
}

void TestModel::paddingRowsAreZero_data() {
    QTest::addColumn<bool>("clsgsepg");
    QTest::newRow("clsgsepg on") << true;
    QTest::newRow("clsgsepg off") << false;
}

void TestModel::paddingRowsAreZero() {
    QFETCH(bool, clsgsepg);
    auto c = mixCase(clsgsepg, 47);
    const auto out = ponet::ponet_mix_reference(c.in);
    const auto pad = c.in.keep.logical_not();
    QCOMPARE(pad.sum().item<int64_t>(), int64_t(4));
    QVERIFY(out.y.index({pad}).eq(0).all().item<bool>());
    // Padded keys get no GA weight, and each GA row is a distribution over the real tokens.
    QVERIFY(out.ga_weights.permute({0, 2, 1}).index({pad}).eq(0).all().item<bool>());
    QVERIFY(maxAbs(out.ga_weights.sum(-1), torch::ones({2, 2})) < 1e-6);
    // Changing what the padded rows hold changes nothing.
    auto in2 = c.in;
    auto noise = torch::randn_like(c.in.q) * 100 * pad.unsqueeze(-1);
    in2.q = c.in.q + noise;
    in2.k = c.in.k + noise;
    in2.o = c.in.o + noise;
    in2.s = c.in.s + noise;
    in2.l = c.in.l + noise;
    QVERIFY(torch::equal(ponet::ponet_mix_reference(in2).y, out.y));
}

void TestModel::allPaddingRowIsFinite() {
    // §7 #6: an all-padding row must not divide by zero.
    auto c = mixCase(true, 53);
    c.in.keep[1].fill_(false);
    const auto out = ponet::ponet_mix_reference(c.in);
    QVERIFY2(allFinite(out.y), qPrintable(str(out.y[1])));
    QVERIFY(allFinite(out.ga_weights));
    QVERIFY(out.y[1].eq(0).all().item<bool>());

    // Through the whole model, backward included.
    auto model = ponet::build_model(tinyConfig("PoNetForSequenceClassification"));
    randomise(*model, 5);
    model->eval();
    ponet::ModelInputs in;
    in.input_ids = ids({{101, 110, 111, 102}, {101, 112, 102, 0}});
    in.attention_mask = ids({{1, 1, 1, 1}, {0, 0, 0, 0}});
    in.labels = torch::tensor({0, 1}, torch::kLong);
    auto res = model->forward(in);
    QVERIFY(allFinite(res.encoder.last_hidden_state));
    QVERIFY(allFinite(res.logits));
    res.loss.backward();
    for (const auto& p : model->named_parameters())
        if (p.value().grad().defined()) QVERIFY2(allFinite(p.value().grad()), p.key().c_str());
}

void TestModel::negativeSegmentIdsThrow() {
    auto c = mixCase(true, 59);
    c.in.segment_ids[0][4] = -1;
    expectInvalidInput([&] { ponet::ponet_mix_reference(c.in); }, "segment_ids");

    auto model = ponet::build_model(tinyConfig("PoNetModel"));
    ponet::ModelInputs in;
    in.input_ids = ids({{101, 110, 111, 102}});
    in.segment_ids = ids({{0, -1, 1, 2}});
    expectInvalidInput([&] { model->forward(in); }, "segment_ids");
    // With validation off the kernel still refuses it.
    ponet::ForwardOptions opt;
    opt.validate_inputs = false;
    expectInvalidInput([&] { model->forward(in, opt); }, "segment_ids");
}

void TestModel::paddingInvariance_data() {
    QTest::addColumn<QString>("mixer");
    QTest::newRow("ponet") << "ponet";
    QTest::newRow("attention") << "attention";
}

void TestModel::paddingInvariance() {
    QFETCH(QString, mixer);
    const auto r = ponet::check::padding_invariance(torch::kCPU, mixer.toStdString());
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: appending padding to a tiny model's batch changes no real token's output, for the classifier
    // too.
    auto model = ponet::build_model(
        tinyConfig("PoNetForSequenceClassification", ponet::mixer_kind_from_string(mixer.toStdString())));
    randomise(*model, 61);
    model->eval();
    torch::NoGradGuard no_grad;
    ponet::ModelInputs a, b;
    a.input_ids = ids({{101, 110, 111, 102, 112, 102}});
    b.input_ids = ids({{101, 110, 111, 102, 112, 102, 0, 0, 0}});
    b.attention_mask = ids({{1, 1, 1, 1, 1, 1, 0, 0, 0}});
    auto ya = model->forward(a), yb = model->forward(b);
    const double err =
        std::max(maxAbs(ya.encoder.last_hidden_state, yb.encoder.last_hidden_state.narrow(1, 0, 6)),
                 maxAbs(ya.logits, yb.logits));
    QVERIFY2(err < 1e-5, qPrintable(QString("padding changed real outputs by %1").arg(err)));
}

void TestModel::explicitSegmentsPath() {
    const auto r = ponet::check::explicit_segments_path(torch::kCPU);
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: one explicit segment for the whole row makes SMP the row-wide max over real tokens (§1.4.3).
    auto c = mixCase(false, 67);
    c.in.segment_ids = torch::zeros_like(c.in.segment_ids);
    ponet::MixingTrace trace;
    ponet::ponet_mix_reference(c.in, &trace);
    for (int64_t b = 0; b < 2; ++b) {
        auto keep = c.in.keep[b];
        auto row_max = std::get<0>(c.in.s[b].index({keep}).max(0));  // [D]
        QVERIFY(torch::equal(trace.smp[b].index({keep}),
                             row_max.unsqueeze(0).expand({keep.sum().item<int64_t>(), 8})));
    }
    // Segment ids that skip numbers are fine (only equality matters).
    auto c2 = mixCase(false, 67);
    auto sparse = c2.in.segment_ids * 2;
    auto base_out = ponet::ponet_mix_reference(c2.in).y;
    c2.in.segment_ids = sparse;
    QVERIFY(torch::equal(ponet::ponet_mix_reference(c2.in).y, base_out));
}

void TestModel::fnetVsDft() {
    const auto r = ponet::check::fnet_vs_dft(torch::kCPU);
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: the 2-D DFT of a constant is L·D at frequency (0, 0) and 0 elsewhere; the mask is ignored.
    ponet::FNetSelfImpl fnet;
    ponet::MixContext ctx;
    ctx.keep = torch::zeros({1, 5}, torch::kBool);
    auto y = fnet.mix(torch::ones({1, 5, 6}), ctx, nullptr).y;
    QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{1, 5, 6}));
    QCOMPARE(y.scalar_type(), torch::kFloat);
    QVERIFY(std::abs(y[0][0][0].item<double>() - 30.0) < 1e-4);
    y[0][0][0] = 0;
    QVERIFY(y.abs().max().item<double>() < 1e-4);
}

void TestModel::linearDropoutAdd() {
    for (const auto& r : {ponet::check::linear_dropout_add_vs_aten(torch::kCPU, torch::kBFloat16),
                          ponet::check::linear_activation_dropout_vs_aten(torch::kCPU, torch::kBFloat16)})
        QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: without dropout it is the residual plus the layer; a probability outside [0, 1) is refused.
    torch::manual_seed(72);
    torch::nn::Linear layer(torch::nn::LinearOptions(6, 4));
    auto x = torch::randn({2, 3, 6}), res = torch::randn({2, 3, 4});
    QVERIFY(torch::equal(ponet::linear_dropout_add(layer, x, res, 0.0), res + layer->forward(x)));
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::linear_dropout_add(layer, x, res, 1.0));
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::linear_dropout_add(layer, x, res, -0.1));
    QVERIFY(torch::equal(ponet::linear_activation_dropout(layer, x, "relu", 0.0), torch::relu(layer->forward(x))));
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::linear_activation_dropout(layer, x, "swish", 0.0));
    QVERIFY_THROWS_EXCEPTION(ponet::Error, ponet::linear_activation_dropout(layer, x, "gelu", 1.0));
}

void TestModel::attentionVsSoftmax() {
    const auto r = ponet::check::attention_vs_softmax(torch::kCPU);
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: when a single key is unmasked, every query returns exactly that key's value.
    torch::manual_seed(71);
    auto q = torch::randn({2, 2, 5, 4}), k = torch::randn({2, 2, 5, 4}), v = torch::randn({2, 2, 5, 4});
    auto keep = torch::zeros({2, 5}, torch::kBool);
    keep[0][2] = true;
    keep[1][4] = true;
    auto y = ponet::softmax_attention_composed(q, k, v, keep, 0.0, false);
    QVERIFY(maxAbs(y[0], v[0].select(1, 2).unsqueeze(1).expand({2, 5, 4})) < 1e-6);
    QVERIFY(maxAbs(y[1], v[1].select(1, 4).unsqueeze(1).expand({2, 5, 4})) < 1e-6);
}

void TestModel::traceWinners() {
    const auto r = ponet::check::trace_winners(torch::kCPU);
    QVERIFY2(r.passed, qPrintable(QString::fromStdString(ponet::format_result_line(r))));

    // Direct: the model's inspection hook gives one trace per layer, consistent with the GA output.
    auto model = ponet::build_model(tinyConfig("PoNetModel"));
    randomise(*model, 73);
    model->eval();
    torch::NoGradGuard no_grad;
    std::vector<ponet::MixingTrace> traces;
    ponet::ForwardOptions opt;
    opt.output_ga = true;
    opt.traces = &traces;
    ponet::ModelInputs in;
    in.input_ids = ids({{101, 110, 111, 102, 112, 102, 0, 0}});
    in.attention_mask = ids({{1, 1, 1, 1, 1, 1, 0, 0}});
    auto out = model->forward(in, opt);
    QCOMPARE(traces.size(), size_t(2));
    QCOMPARE(out.encoder.ga_attention.size(), size_t(2));
    for (size_t i = 0; i < traces.size(); ++i) {
        QVERIFY(torch::equal(traces[i].ga_weights, out.encoder.ga_attention[i]));
        QCOMPARE(traces[i].smp.sizes().vec(), (std::vector<int64_t>{1, 8, 32}));
        QCOMPARE(traces[i].smp_winner.scalar_type(), torch::kLong);
        // The SMP winner of a real ordinary token lies in its own derived segment and is a real token.
        auto seg = ponet::derive_segment_ids(in.input_ids, 101, 102);
        auto win_seg = seg.unsqueeze(-1).expand({1, 8, 32}).gather(1, traces[i].smp_winner);
        for (int64_t pos : {1, 2, 4}) QVERIFY(win_seg[0][pos].eq(seg[0][pos]).all().item<bool>());
        // The LMP winner is within one position.
        auto pos = torch::arange(8, torch::kLong).view({1, 8, 1});
        QVERIFY((traces[i].lmp_winner - pos).abs().le(1).all().item<bool>());
    }
    // Calling again replaces the traces instead of appending.
    model->forward(in, opt);
    QCOMPARE(traces.size(), size_t(2));
}

// ---------------------------------------------------------------------------------------------------------------
// Model shapes

void TestModel::parameterCounts_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("mixer");
    QTest::addColumn<qint64>("expected");
    // §4.2.5, Appendix A.5.
    QTest::newRow("lra-listops") << "lra-listops"
                                 << "" << qint64(226442);
    QTest::newRow("lra-text") << "lra-text"
                              << "" << qint64(387202);
    QTest::newRow("lra-image") << "lra-image"
                               << "" << qint64(191626);
    QTest::newRow("lra-pathfinder") << "lra-pathfinder"
                                    << "" << qint64(190594);
    QTest::newRow("lra-listops softmax") << "lra-listops"
                                         << "attention" << qint64(209802);
    // FNet allocates neither the unused W_q/W_k/W_v nor ff (§7 #20): 209,802 − 2 layers × 4 × (64·64 + 64).
    QTest::newRow("lra-listops fnet") << "lra-listops"
                                      << "fnet" << qint64(209802 - 2 * 4 * 4160);
    QTest::newRow("ponet-base-uncased") << "ponet-base-uncased"
                                        << "" << qint64(124281405);
}

void TestModel::parameterCounts() {
    QFETCH(QString, model);
    QFETCH(QString, mixer);
    QFETCH(qint64, expected);
    auto config = builtinConfig(model.toStdString());
    if (!mixer.isEmpty()) config.mixer = ponet::mixer_kind_from_string(mixer.toStdString());
    const auto summary = ponet::summarize_model(config);
    QCOMPARE(summary.total_parameters, expected);
    int64_t grouped = 0;
    for (const auto& g : summary.groups) grouped += g.count;
    QCOMPARE(grouped, expected);
    QCOMPARE(summary.weights_bytes_fp32, expected * 4);
}

void TestModel::lraForwardMeanPooling() {
    auto config = builtinConfig("lra-listops");
    QCOMPARE(config.variant, ponet::ModelVariant::Lra);
    config.segment_num = 4;  // 40 tokens → chunks of 11
    auto model = ponet::build_model(config);
    randomise(*model, 79);
    model->eval();
    torch::NoGradGuard no_grad;
    const int64_t L = 40, real1 = 25;
    torch::manual_seed(83);
    auto input_ids = torch::randint(1, config.vocab_size, {2, L}, torch::kLong);
    input_ids[1].narrow(0, real1, L - real1).zero_();  // row 1 padded at the end
    input_ids[0][17] = 0;                              // id 0 inside a row is masked too (§7 #18)
    ponet::ModelInputs in;
    in.input_ids = input_ids;
    auto out = model->forward(in);
    const auto& h = out.encoder.last_hidden_state;
    QCOMPARE(h.sizes().vec(), (std::vector<int64_t>{2, L, 64}));
    QCOMPARE(out.logits.sizes().vec(), (std::vector<int64_t>{2, 10}));
    auto pad = input_ids.eq(0);
    QVERIFY(h.index({pad}).eq(0).all().item<bool>());
    QVERIFY(h.index({pad.logical_not()}).abs().gt(0).any(-1).all().item<bool>());
    // MEAN pooling over all L positions (the padded ones contribute 0) ...
    QVERIFY(maxAbs(out.encoder.pooler_output, h.mean(1)) < 1e-6);
    QVERIFY(maxAbs(out.encoder.pooler_output[1], h[1].sum(0) / double(L)) < 1e-6);
    // ... which is not the mean over the real tokens only.
    QVERIFY(maxAbs(out.encoder.pooler_output[1], h[1].sum(0) / double(real1)) > 1e-3);
    // The fixed segments are floor(L/segment_num)+1 chunks: passing them explicitly changes nothing.
    in.segment_ids = ponet::fixed_segment_ids(2, L, 4, torch::kCPU);
    QCOMPARE(in.segment_ids[0][10].item<int64_t>(), int64_t(0));
    QCOMPARE(in.segment_ids[0][11].item<int64_t>(), int64_t(1));
    QVERIFY(torch::equal(model->forward(in).logits, out.logits));
    // Other segments change the output.
    in.segment_ids = torch::zeros({2, L}, torch::kLong);
    QVERIFY(maxAbs(model->forward(in).logits, out.logits) > 1e-6);
}

void TestModel::mixerSwitch_data() {
    QTest::addColumn<QString>("mixer");
    QTest::addColumn<bool>("lra");
    for (bool lra : {false, true})
        for (const char* m : {"ponet", "fnet", "attention"})
            QTest::addRow("%s %s", lra ? "lra" : "bert", m) << QString(m) << lra;
}

void TestModel::mixerSwitch() {
    QFETCH(QString, mixer);
    QFETCH(bool, lra);
    auto config = tinyConfig(lra ? "PoNetForLraClassification" : "PoNetForSequenceClassification",
                             ponet::mixer_kind_from_string(mixer.toStdString()));
    config.id2label = {"a", "b", "c"};
    if (lra) {
        config.variant = ponet::ModelVariant::Lra;
        config.segment_strategy = ponet::SegmentStrategy::Fixed;
        config.segment_num = 3;
        config.clsgsepg = false;
    }
    auto model = ponet::build_model(config);
    model->train();

    std::set<std::string> names;
    for (const auto& p : model->named_parameters()) names.insert(p.key());
    auto has = [&](const std::string& fragment) {
        for (const auto& n : names)
            if (n.find(fragment) != std::string::npos) return true;
        return false;
    };
    const std::string self = "ponet.encoder.layer.0.attention.self.";
    if (mixer == "fnet") {
        QVERIFY(!has("attention.output.dense"));
        QVERIFY(!has("attention.self"));
        QVERIFY(names.count("ponet.encoder.layer.0.attention.output.LayerNorm.weight"));
    } else if (mixer == "attention") {
        for (const char* n : {"query", "key", "value"}) QVERIFY2(names.count(self + n + ".weight"), n);
        QVERIFY(!has("dense_q"));
        QVERIFY(names.count("ponet.encoder.layer.1.attention.output.dense.weight"));
    } else {
        for (const char* n : {"dense_q", "dense_k", "dense_o", "dense_segment", "dense_local"})
            QVERIFY2(names.count(self + n + ".weight") && names.count(self + n + ".bias"), n);
        QVERIFY(!has("attention.self.query"));
    }

    torch::manual_seed(89);
    ponet::ModelInputs in;
    in.input_ids = lra ? ids({{5, 6, 7, 8, 9, 10, 11}, {12, 13, 14, 15, 0, 0, 0}})
                       : ids({{101, 110, 111, 102, 112, 113, 102}, {101, 114, 102, 115, 102, 0, 0}});
    if (!lra) in.attention_mask = in.input_ids.ne(0).to(torch::kLong);
    in.labels = torch::tensor({2, 0}, torch::kLong);
    auto out = model->forward(in);
    QCOMPARE(out.logits.sizes().vec(), (std::vector<int64_t>{2, 3}));
    QVERIFY(out.loss.defined() && std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    for (const auto& p : model->named_parameters()) {
        QVERIFY2(p.value().grad().defined(), ("no gradient for " + p.key()).c_str());
        QVERIFY2(allFinite(p.value().grad()), ("non-finite gradient for " + p.key()).c_str());
    }
    // The first layer's mixer parameters receive a non-zero gradient (the mixer is really in the graph). Not
    // the last layer's SMP/LMP: the pooled [CLS] of the BERT skeleton only receives g' ⊙ O there.
    for (const auto& n : names)
        if (n.rfind(self, 0) == 0 && n.find(".weight") != std::string::npos)
            QVERIFY2(model->named_parameters()[n].grad().abs().sum().item<double>() > 0, n.c_str());
}

void TestModel::inputsValidation_data() {
    QTest::addColumn<QString>("problem");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("too long") << "too long"
                              << "max_position_embeddings";
    QTest::newRow("id >= vocab") << "id >= vocab"
                                 << "input_ids out of range";
    QTest::newRow("negative id") << "negative id"
                                 << "input_ids out of range";
    QTest::newRow("mask shape") << "mask shape"
                                << "attention_mask must have the shape";
    QTest::newRow("mask value") << "mask value"
                                << "attention_mask out of range";
    QTest::newRow("token type") << "token type"
                                << "token_type_ids out of range";
    QTest::newRow("segment shape") << "segment shape"
                                   << "segment_ids must have the shape";
    QTest::newRow("1-D ids") << "1-D ids"
                             << "input_ids must be [batch, seq]";
    QTest::newRow("no ids") << "no ids"
                            << "input_ids are required";
}

void TestModel::inputsValidation() {
    QFETCH(QString, problem);
    QFETCH(QString, fragment);
    auto model = ponet::build_model(tinyConfig("PoNetForPreTraining"));
    model->eval();
    ponet::ModelInputs in;
    in.input_ids = ids({{101, 110, 111, 102}, {101, 112, 102, 0}});
    if (problem == "too long") in.input_ids = torch::full({1, 65}, 110, torch::kLong);
    if (problem == "id >= vocab") in.input_ids[1][1] = 160;
    if (problem == "negative id") in.input_ids[0][2] = -3;
    if (problem == "mask shape") in.attention_mask = torch::ones({2, 5}, torch::kLong);
    if (problem == "mask value") in.attention_mask = ids({{1, 1, 1, 1}, {1, 1, 2, 0}});
    if (problem == "token type") in.token_type_ids = ids({{0, 0, 0, 0}, {0, 2, 0, 0}});
    if (problem == "segment shape") in.segment_ids = torch::zeros({2}, torch::kLong);
    if (problem == "1-D ids") in.input_ids = torch::tensor({101, 102}, torch::kLong);
    if (problem == "no ids") in.input_ids = torch::Tensor();
    torch::NoGradGuard no_grad;
    expectInvalidInput([&] { model->forward(in); }, fragment);
}

// The app ships its own copy of the golden vectors (users have no shared/ folder); it must stay byte-identical to
// the authors' set the project was given, when that set is present (it is in CI: shared/ lies beside the clone).
void TestModel::goldenCopyMatchesShared() {
    const std::string shared = PONET_SHARED_DIR "/golden/tiny";
    QVERIFY2(fs::is_directory(shared), ("the shared golden vectors are missing at " + shared).c_str());
    for (const char* name : {"config.json", "model.safetensors", "io.safetensors"}) {
        const auto ours = ponet::read_file((fs::path(goldenDir()) / name).string());
        const auto theirs = ponet::read_file((fs::path(shared) / name).string());
        QVERIFY2(ours == theirs, (std::string(name) + " differs from the shared golden copy").c_str());
    }
}

void TestModel::gradientCheckpointing_data() {
    QTest::addColumn<QString>("architecture");
    QTest::addColumn<QString>("mixer");
    QTest::newRow("pretraining ponet") << "PoNetForPreTraining" << "ponet";
    QTest::newRow("classifier attention") << "PoNetForSequenceClassification" << "attention";
    QTest::newRow("classifier fnet") << "PoNetForSequenceClassification" << "fnet";
}

// With dropout on, a checkpointed step must give the same loss and gradients as a normal one: the recompute
// replays each layer's dropout masks. And the checkpointed forward must really keep no layer graph.
void TestModel::gradientCheckpointing() {
    QFETCH(QString, architecture);
    QFETCH(QString, mixer);
    auto cfg = ponet::check::tiny_config(architecture.toStdString(), ponet::mixer_kind_from_string(mixer.toStdString()));
    auto model = ponet::build_model(cfg);
    model->train();
    auto gen = at::detail::createCPUGenerator(41);
    auto ids = at::randint(104, 160, {3, 20}, gen, torch::TensorOptions().dtype(torch::kLong));
    ids.select(1, 0).fill_(101);
    ids.select(1, 19).fill_(102);
    ids[1][9] = 102;
    ponet::ModelInputs in;
    in.input_ids = ids;
    in.attention_mask = torch::ones({3, 20}, torch::kLong);
    in.attention_mask[2].narrow(0, 15, 5).fill_(0);
    if (architecture == "PoNetForPreTraining") {
        in.labels = torch::full({3, 20}, -100, torch::kLong);
        in.labels.narrow(1, 3, 4).copy_(ids.narrow(1, 3, 4));
        in.sso_labels = torch::tensor({0, 1, 2}, torch::kLong);
    } else {
        in.labels = torch::tensor({0, 1, 1}, torch::kLong);
    }
    auto run = [&](bool checkpointing) {
        model->zero_grad();
        model->base().set_gradient_checkpointing(checkpointing);
        torch::manual_seed(1234);  // the same dropout masks in both runs
        auto loss = model->forward(in).loss;
        model->base().backward(loss);
        std::map<std::string, torch::Tensor> grads;
        for (const auto& p : model->named_parameters())
            grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
        return std::make_pair(loss.item<double>(), grads);
    };
    const auto plain = run(false);
    const auto ckpt = run(true);
    QCOMPARE(ckpt.first, plain.first);
    int compared = 0;
    for (const auto& [name, g] : plain.second) {
        const auto& h = ckpt.second.at(name);
        QVERIFY2(g.defined() == h.defined(), name.c_str());
        if (!g.defined()) continue;
        QVERIFY2(torch::allclose(g, h, 1e-5, 1e-7), (name + " differs with checkpointing").c_str());
        ++compared;
    }
    QVERIFY(compared > 20);
    // The checkpointed forward's output of each layer is a fresh leaf: no graph reaches back through layers.
    model->base().set_gradient_checkpointing(true);
    ponet::ForwardOptions opt;
    opt.output_hidden_states = true;
    auto out = model->forward(in, opt);
    QVERIFY(out.encoder.hidden_states.at(1).is_leaf());
    QVERIFY(out.encoder.hidden_states.at(2).is_leaf());
    model->base().backward(out.loss);  // consumes the pending recomputation
}

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
