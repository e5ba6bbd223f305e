// Tests of core/inspect: every number the explorer shows is re-derived here from the model's own projections
// (GA weights recomputed and summing to 1, SMP and LMP winners that are true argmaxes, branch shares that add up
// to 1 and whose parts sum to the reference mixer's output), the teach-mode layer against the reference path,
// and the error paths.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "core/check/checks.h"
#include "core/inspect/inspection.h"
#include "core/inspect/teach.h"
#include "core/io/model_io.h"
#include "core/kernels/ponet_mixing.h"
#include "core/model/ponet_model.h"
#include "core/util/error.h"
#include "core/util/fs_util.h"

#include <QTest>

namespace {

const char* kText =
    "The whale rose near the ship. Sailors shouted from the deck! The captain watched the sea and the whale. "
    "Nobody slept that night. At dawn the ship turned north, and the whale was gone.";

std::vector<std::string> vocabulary() {
    std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!"};
    for (const char* w : {"the", "whale", "rose", "near", "ship", "sailors", "shouted", "from", "deck", "captain",
                          "watched", "sea", "and", "nobody", "slept", "that", "night", "at", "dawn", "turned",
                          "north", "was", "gone", "cat", "##s"})
        v.emplace_back(w);
    return v;
}

// A 2-layer, 32-wide PoNet (the golden shape) with N(0, 0.5) weights, saved with its vocab.txt.
std::string makeModelDir(const std::string& root, ponet::MixerKind mixer = ponet::MixerKind::PoNet) {
    const auto vocab = vocabulary();
    ponet::ModelConfig c = ponet::check::tiny_config("PoNetModel", mixer);
    c.vocab_size = static_cast<int64_t>(vocab.size());
    c.pad_token_id = 0;
    c.unk_token_id = 1;
    c.cls_token_id = 2;
    c.sep_token_id = 3;
    c.mask_token_id = 4;
    c.max_position_embeddings = 128;
    auto model = ponet::build_model(c);
    {
        torch::NoGradGuard no_grad;
        torch::manual_seed(11);
        for (auto& p : model->parameters()) p.normal_(0.0, 0.5);
    }
    const std::string dir = root + "/model-" + ponet::to_string(mixer);
    ponet::save_model_dir(*model, dir);
    std::ofstream out(dir + "/vocab.txt");
    for (const auto& w : vocab) out << w << "\n";
    return dir;
}

torch::Tensor col(const torch::Tensor& t, int64_t f) { return t.select(1, f); }

}  // namespace

class TestInspect : public QObject {
    Q_OBJECT
    std::string root_, modelDir_;

  private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(1);
        root_ = ponet::make_temp_dir("inspect-test");
        modelDir_ = makeModelDir(root_);
    }
    void cleanupTestCase() { ponet::remove_tree(root_); }

    void tokensAndSegments() {
        const ponet::Inspection r = ponet::inspect_document(modelDir_, kText, "whale");
        QCOMPARE(r.tokens.front(), std::string("[CLS]"));
        QCOMPARE(r.tokens.back(), std::string("[SEP]"));
        QCOMPARE(r.layers, int64_t(2));
        QCOMPARE(r.heads, int64_t(4));
        QCOMPARE(r.hidden, int64_t(32));
        // Five sentences: [CLS] = 0, sentences 1..5, [SEP] = 6.
        QCOMPARE(r.segments, int64_t(7));
        QCOMPARE(r.segment_of.front(), 0);
        QCOMPARE(r.segment_of.back(), 6);
        QCOMPARE(r.segment_of[1], 1);
        for (size_t t = 1; t < r.segment_of.size(); ++t) QVERIFY(r.segment_of[t] >= r.segment_of[t - 1]);
        QCOMPARE(int(r.special.front()), 1);
        QCOMPARE(int(r.special[1]), 0);
        QVERIFY(r.note.empty());
        // Search ignores case and the WordPiece marker.
        const auto hits = r.find("WHALE");
        QCOMPARE(hits.size(), size_t(3));
        for (int64_t h : hits) QCOMPARE(r.tokens[static_cast<size_t>(h)], std::string("whale"));
        QVERIFY(r.find("zebra").empty());
    }

    // Every number against an independent derivation from the model's own projections.
    void outputsMatchTheReferencePath() {
        const ponet::Inspection r = ponet::inspect_document(modelDir_, kText, "whale");
        const int64_t L = r.length, D = r.hidden, H = r.heads, d = D / H;
        auto loaded = ponet::load_model_dir(modelDir_);
        auto& model = *loaded.model;
        model.eval();
        torch::NoGradGuard no_grad;
        ponet::ModelInputs in;
        in.input_ids = torch::tensor(r.token_ids).view({1, L});
        in.segment_ids = torch::tensor(std::vector<int64_t>(r.segment_of.begin(), r.segment_of.end())).view({1, L});
        ponet::ForwardOptions fo;
        fo.output_hidden_states = true;
        auto enc = model.base().forward(in, fo);
        const auto modules = model.base().named_modules();
        for (int64_t l = 0; l < r.layers; ++l) {
            auto self = std::dynamic_pointer_cast<ponet::PoNetSelfImpl>(
                modules["encoder.layer." + std::to_string(l) + ".attention.self"]);
            QVERIFY(self);
            auto x = enc.hidden_states[static_cast<size_t>(l)][0];
            auto q = self->dense_q(x), k = self->dense_k(x), o = self->dense_o(x), s = self->dense_segment(x),
                 lo = self->dense_local(x);

            // GA: α = softmax(mean(Q)·K / √d) per head; each head sums to 1.
            auto g = q.view({L, H, d}).mean(0);
            auto alpha = torch::softmax(torch::einsum("hd,lhd->hl", {g, k.view({L, H, d})}) / std::sqrt(double(d)), -1);
            for (int64_t h = 0; h < H; ++h) {
                double sum = 0;
                for (int64_t t = 0; t < L; ++t) {
                    sum += r.ga_at(l, h, t);
                    QVERIFY(std::abs(r.ga_at(l, h, t) - alpha[h][t].item<float>()) < 1e-5f);
                }
                QVERIFY(std::abs(sum - 1.0) < 1e-5);
            }

            // SMP: each (segment, feature) winner holds the segment's maximum and is its lowest such position.
            auto s_hat = torch::zeros({L, D});
            for (int64_t seg = 0; seg < r.segments; ++seg) {
                const int64_t first = r.segment_first[static_cast<size_t>(seg)];
                QVERIFY(first >= 0);
                int64_t last = first;
                while (last + 1 < L && r.segment_of[static_cast<size_t>(last + 1)] == seg) ++last;
                int32_t wins_in_segment = 0;
                for (int64_t t = first; t <= last; ++t) wins_in_segment += r.smp_wins_at(l, t);
                QCOMPARE(int64_t(wins_in_segment), D);
                for (int64_t f = 0; f < D; ++f) {
                    auto column = col(s, f).slice(0, first, last + 1);
                    const int64_t expect = first + column.argmax().item<int64_t>();  // first maximum on ties
                    const int64_t got = r.smp_source[static_cast<size_t>((l * r.segments + seg) * D + f)];
                    QCOMPARE(got, expect);
                    QCOMPARE(s[got][f].item<float>(), column.max().item<float>());
                    if (!r.special[static_cast<size_t>(first)])
                        for (int64_t t = first; t <= last; ++t) s_hat[t][f] = column.max();
                }
            }
            for (int64_t t = 0; t < L; ++t) {
                int32_t won = 0;
                const int64_t seg = r.segment_of[static_cast<size_t>(t)];
                for (int64_t f = 0; f < D; ++f) won += r.smp_source[static_cast<size_t>((l * r.segments + seg) * D + f)] == t;
                QCOMPARE(r.smp_wins_at(l, t), won);
                int32_t listed = 0;
                for (const auto& sc : r.smp_sources(l, t)) {
                    QCOMPARE(int64_t(r.segment_of[static_cast<size_t>(sc.token)]), seg);
                    listed += sc.features;
                }
                QCOMPARE(int64_t(listed), D);
            }

            // LMP: the window (t-1, t, t+1) of L̃ (specials hold the sentinel); the winner is the argmax.
            auto l_hat = torch::zeros({L, D});
            for (int64_t t = 0; t < L; ++t) {
                int32_t counts[3] = {0, 0, 0};
                for (int64_t f = 0; f < D; ++f) {
                    int64_t best = -1;
                    float best_v = 0;
                    for (int64_t j = std::max<int64_t>(0, t - 1); j <= std::min<int64_t>(L - 1, t + 1); ++j) {
                        const float v = r.special[static_cast<size_t>(j)] ? float(ponet::kPoolingSentinel) : lo[j][f].item<float>();
                        if (best < 0 || v > best_v) best = j, best_v = v;
                    }
                    ++counts[best - t + 1];
                    if (!r.special[static_cast<size_t>(t)]) l_hat[t][f] = best_v;
                }
                QCOMPARE(r.lmp_count(l, t, ponet::LmpSource::Left), counts[0]);
                QCOMPARE(r.lmp_count(l, t, ponet::LmpSource::Self), counts[1]);
                QCOMPARE(r.lmp_count(l, t, ponet::LmpSource::Right), counts[2]);
            }

            // Branch shares: norms of the three parts, summing to 1; the parts add up to the mixer output.
            auto g_prime = torch::einsum("hl,lhd->hd", {alpha, k.view({L, H, d})}).reshape({1, D});
            auto global = g_prime * o, segment = s_hat * o, local = l_hat;
            ponet::MixContext ctx;
            ctx.keep = torch::ones({1, L}, torch::kBool);
            ctx.special = torch::tensor(std::vector<int64_t>(r.special.begin(), r.special.end())).view({1, L}).to(torch::kBool);
            ctx.segment_ids = in.segment_ids;
            ctx.impl = ponet::MixerImpl::Reference;
            auto y = self->mix(x.unsqueeze(0), ctx, nullptr).y[0];
            QVERIFY(torch::allclose(global + segment + local, y, 1e-4, 1e-4));
            for (int64_t t = 0; t < L; ++t) {
                const float n[3] = {global[t].norm().item<float>(), segment[t].norm().item<float>(),
                                    local[t].norm().item<float>()};
                const float sum = n[0] + n[1] + n[2];
                float total = 0;
                for (int b = 0; b < 3; ++b) {
                    const float got = r.share(l, t, static_cast<ponet::Branch>(b));
                    QVERIFY(got >= 0.0f && got <= 1.0f);
                    QVERIFY(std::abs(got - n[b] / sum) < 1e-4f);
                    total += got;
                }
                QVERIFY(std::abs(total - 1.0f) < 1e-5f);
                if (r.special[static_cast<size_t>(t)]) QCOMPARE(r.share(l, t, ponet::Branch::Global), 1.0f);
            }
        }
    }

    void queriesAndExports() {
        const ponet::Inspection r = ponet::inspect_document(modelDir_, kText, "whale");
        const auto top = r.top_tokens(1, -1, 5);
        QCOMPARE(top.size(), size_t(5));
        for (size_t i = 1; i < top.size(); ++i) QVERIFY(top[i - 1].weight >= top[i].weight);
        float best = 0;
        for (int64_t t = 0; t < r.length; ++t) best = std::max(best, r.ga_mean(1, t));
        QCOMPARE(top.front().weight, best);
        const auto j = nlohmann::json::parse(r.to_json());
        QCOMPARE(j["per_layer"].size(), size_t(2));
        QCOMPARE(j["per_layer"][0]["ga"].size(), size_t(4));
        QCOMPARE(j["tokens"].size(), static_cast<size_t>(r.length));
        const std::string csv = r.to_csv("shares", 0);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), static_cast<long>(r.length + 1));
        QVERIFY(csv.rfind("layer,token_index,token,segment,global,segment_share,local\n", 0) == 0);
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, r.to_csv("attention"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, r.to_csv("ga", 5));
    }

    void longDocumentsAreCutToTheBudget() {
        ponet::InspectOptions o;
        o.max_tokens = 12;
        const ponet::Inspection r = ponet::inspect_document(modelDir_, kText, "whale", o);
        QCOMPARE(r.length, int64_t(12));
        QCOMPARE(r.tokens.back(), std::string("[SEP]"));
        QVERIFY(r.note.find("first 12") != std::string::npos);
    }

    void progressAndCancel() {
        std::vector<double> seen;
        ponet::InspectOptions o;
        o.progress = [&](double f, const std::string&) { seen.push_back(f); };
        ponet::inspect_document(modelDir_, kText, "whale", o);
        QVERIFY(seen.size() >= 4);
        QCOMPARE(seen.back(), 1.0);
        for (size_t i = 1; i < seen.size(); ++i) QVERIFY(seen[i] >= seen[i - 1]);
        std::atomic<bool> cancel{false};
        o.cancel = &cancel;
        o.progress = [&](double f, const std::string&) {
            if (f >= 0.1) cancel = true;
        };
        bool cancelled = false;
        try {
            ponet::inspect_document(modelDir_, kText, "whale", o);
        } catch (const ponet::InspectionCancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
    }

    void badInputIsExplained() {
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::inspect_document(modelDir_, "   \n ", "empty"));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput,
                                 ponet::inspect_document(root_ + "/no-such-model", kText, "whale"));
        const std::string fnet = makeModelDir(root_, ponet::MixerKind::FNet);
        try {
            ponet::inspect_document(fnet, kText, "whale");
            QFAIL("an FNet model was inspected");
        } catch (const ponet::InvalidInput& e) {
            QVERIFY(std::string(e.what()).find("fnet") != std::string::npos);
        }
        QVERIFY(ponet::run_checkpoints(modelDir_).empty());
    }

    // The teach-mode arithmetic is PoNet's: the reference mixer gives the same numbers.
    void teachModeMatchesTheReference() {
        const ponet::TeachLayer t = ponet::teach_layer(7);
        const int64_t L = t.length, D = t.hidden;
        auto m = [&](const std::vector<float>& v) { return torch::tensor(v).view({1, L, D}); };
        ponet::PoNetMixingInputs in;
        in.q = m(t.q);
        in.k = m(t.k);
        in.o = m(t.o);
        in.s = m(t.s);
        in.l = m(t.l);
        in.keep = torch::ones({1, L}, torch::kBool);
        in.special = torch::tensor(std::vector<int64_t>(t.special.begin(), t.special.end())).view({1, L}).to(torch::kBool);
        in.segment_ids = torch::tensor(std::vector<int64_t>(t.segment_of.begin(), t.segment_of.end())).view({1, L});
        in.heads = 1;
        in.clsgsepg = true;
        ponet::MixingTrace tr;
        auto out = ponet::ponet_mix_reference(in, &tr);
        QVERIFY(torch::allclose(out.y, m(t.y), 1e-5, 1e-5));
        QVERIFY(torch::allclose(tr.ga_weights.view({L}), torch::tensor(t.alpha), 1e-6, 1e-6));
        QVERIFY(torch::allclose(tr.smp, m(t.s_hat)));
        QVERIFY(torch::allclose(tr.lmp, m(t.l_hat)));
        auto lw = torch::tensor(t.l_winner).view({1, L, D});
        QVERIFY(torch::equal(tr.lmp_winner, lw));
        for (int64_t i = 0; i < L; ++i)
            for (int64_t f = 0; f < D; ++f)
                QCOMPARE(tr.smp_winner[0][i][f].item<int64_t>(),
                         t.segment_winner[static_cast<size_t>(t.segment_of[static_cast<size_t>(i)] * D + f)]);
        // The numbers are the ones a class reads: one decimal in the inputs, and the text shows each step.
        for (float v : t.x) QCOMPARE(std::round(v * 10.0f) / 10.0f, v);
        const std::string text = ponet::describe(t);
        for (const char* step : {"GA stage 1", "softmax", "SMP", "LMP", "fusion"}) QVERIFY(text.find(step) != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestInspect)
#include "test_inspect.moc"
