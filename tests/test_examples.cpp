// Tests of the training examples: sentence splitting, SSO pairs and MLM masking (PONET-SPEC §2),
// classification inputs with sentence segment ids (§3.2.2), the LRA generators and encoders (§4.1, §6.2,
// §6.3), batching, the data cursor and the prefetcher, and a forward pass of a tiny PoNet on collated
// batches.
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/check/checks.h"
#include "core/data/batching.h"
#include "core/data/classification.h"
#include "core/data/lra.h"
#include "core/data/pretraining.h"
#include "core/data/sentences.h"
#include "core/model/model_config.h"
#include "core/model/ponet_model.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

#include <QTest>

namespace {

using ponet::Example;

// Deliberately not BERT's ids, so that nothing can pass by hard-coding 101/102/103.
constexpr int64_t kPad = 0, kUnk = 1, kCls = 2, kSep = 3, kMask = 4, kFirstWord = 5;

// Whitespace tokenizer over a fixed vocabulary: "w<k>" is id kFirstWord + k, anything else [UNK].
class TestTokenizer : public ponet::Tokenizer {
  public:
    explicit TestTokenizer(int64_t vocab = 160) : vocab_(vocab) {}
    std::string kind() const override { return "test"; }
    std::vector<std::string> tokenize(const std::string& text, ponet::EncodeStats* = nullptr) const override {
        std::istringstream in(text);
        std::vector<std::string> out;
        for (std::string w; in >> w;) {
            while (!w.empty() && (w.back() == '.' || w.back() == '!' || w.back() == '?')) w.pop_back();
            if (!w.empty()) out.push_back(w);
        }
        return out;
    }
    std::vector<int64_t> encode(const std::string& text, ponet::EncodeStats* = nullptr) const override {
        std::vector<int64_t> ids;
        for (const auto& w : tokenize(text)) {
            int64_t id = kUnk;
            if (w.size() > 1 && w[0] == 'w') {
                const int64_t k = std::stoll(w.substr(1));
                if (kFirstWord + k < vocab_) id = kFirstWord + k;
            }
            ids.push_back(id);
        }
        return ids;
    }
    std::string decode(const std::vector<int64_t>&) const override { return {}; }
    std::string id_to_token(int64_t id) const override { return "w" + std::to_string(id - kFirstWord); }
    int64_t vocab_size() const override { return vocab_; }
    ponet::SpecialTokens special_tokens() const override {
        ponet::SpecialTokens s;
        s.pad = kPad;
        s.unk = kUnk;
        s.cls = kCls;
        s.sep = kSep;
        s.mask = kMask;
        return s;
    }
    void save(const std::string&) const override {}

  private:
    int64_t vocab_;
};

std::string words(int64_t first, int64_t count) {
    std::string s;
    for (int64_t i = 0; i < count; ++i) s += (i ? " w" : "w") + std::to_string(first + i);
    return s;
}

ponet::ModelConfig tinyConfig(const std::string& arch) {
    // The golden shape with this test's own special-token ids.
    ponet::ModelConfig c = ponet::check::tiny_config(arch);
    c.pad_token_id = kPad;
    c.unk_token_id = kUnk;
    c.cls_token_id = kCls;
    c.sep_token_id = kSep;
    c.mask_token_id = kMask;
    return c;
}

// |observed - expected| within k standard deviations of a binomial count.
bool withinSigma(double count, double n, double p, double k = 5.0) {
    return std::abs(count - n * p) <= k * std::sqrt(n * p * (1 - p));
}

std::vector<const Example*> pointers(const std::vector<Example>& v) {
    std::vector<const Example*> p;
    for (const auto& e : v) p.push_back(&e);
    return p;
}

// Rows whose tokens name their row: row r holds tokens 1000 * (r + 1) + i, so any token tells where it came
// from.
std::vector<std::vector<int64_t>> taggedRows(int64_t count, uint64_t seed, int64_t min_len, int64_t max_len) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<int64_t>> rows;
    for (int64_t r = 0; r < count; ++r) {
        const int64_t n = ponet::uniform_int(rng, min_len, max_len);
        std::vector<int64_t> row;
        for (int64_t i = 0; i < n; ++i) row.push_back(1000 * (r + 1) + i);
        rows.push_back(row);
    }
    return rows;
}
int64_t rowOf(int64_t token) {
    return token / 1000 - 1;
}

}  // namespace

class TestExamples : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    // -------------------------------------------------------------------------------------------------------
    // Sentences

    void sentenceRules() {
        const auto s = ponet::split_sentences(
            "Dr. Smith paid $3.50 at 3 p.m. on Jan. 5. He left! \"Stop.\" Then J. R. R. Tolkien wrote... and "
            "wrote. "
            "Was it fig. 3 (see Fig. 4.)? No. 5 is fine. I said no. Then it ended\u2026 Later "
            "\u201cyes.\u201d Done");
        const std::vector<std::string> want = {"Dr. Smith paid $3.50 at 3 p.m. on Jan. 5.",
                                               "He left!",
                                               "\"Stop.\"",
                                               "Then J. R. R. Tolkien wrote... and wrote.",
                                               "Was it fig. 3 (see Fig. 4.)?",
                                               "No. 5 is fine.",
                                               "I said no.",
                                               "Then it ended\u2026",
                                               "Later \u201cyes.\u201d",
                                               "Done"};
        QCOMPARE(s.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) QCOMPARE(s[i], want[i]);
    }

    void sentenceNewlinesAndParagraphs() {
        const std::string text = "First line\nstill first. Second\n\n  \nThird para\nline two";
        const auto s = ponet::split_sentences(text);
        QCOMPARE(s.size(), size_t(3));
        QCOMPARE(s[0], std::string("First line still first."));
        QCOMPARE(s[1], std::string("Second"));
        QCOMPARE(s[2], std::string("Third para line two"));
        ponet::SentenceSplitOptions lines;
        lines.newline_is_boundary = true;
        QCOMPARE(ponet::split_sentences(text, lines).size(), size_t(5));
        const auto p = ponet::split_paragraphs(text);
        QCOMPARE(p.size(), size_t(2));
        QCOMPARE(p[1], std::string("Third para line two"));
        QCOMPARE(ponet::split_lines(text).size(), size_t(4));
        // Lower-cased corpora: only the capital rule goes.
        ponet::SentenceSplitOptions lower;
        lower.require_capital_start = false;
        QCOMPARE(ponet::split_sentences("he left. she stayed with dr. who.", lower).size(), size_t(2));
        QCOMPARE(ponet::split_sentences("he left. she stayed.").size(), size_t(1));
        QVERIFY(ponet::split_sentences("").empty());
        QVERIFY(ponet::split_sentences(" \n\n \t").empty());
        ponet::Document doc;
        doc.text = "w1 w2. W3 w4\n\nw5";
        const TestTokenizer tok;
        QCOMPARE(ponet::tokenize_rows({doc}, tok, ponet::RowUnit::Sentence).size(), size_t(3));
        QCOMPARE(ponet::tokenize_rows({doc}, tok, ponet::RowUnit::Paragraph).size(), size_t(2));
        QCOMPARE(ponet::tokenize_rows({doc}, tok, ponet::RowUnit::Document).front().size(), size_t(5));
        QCOMPARE(
            ponet::split_sentences("\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80\x82\xE5\x86\x8D\xE8\xA7\x81").size(),
            size_t(2));
    }

    // -------------------------------------------------------------------------------------------------------
    // SSO pairs (§2.3)

    void ssoInvariantsAndBalance() {
        ponet::SsoOptions o;
        o.max_seq_length = 64;
        o.dupe_factor = 3;
        o.seed = 7;
        const auto rows = taggedRows(20000, 1, 0, 14);  // some empty rows, which the chunker skips
        ponet::SsoPairBuilder builder(TestTokenizer().special_tokens(), o);
        const auto inst = builder.build(rows);
        QVERIFY(inst.size() > 5000);
        int64_t counts[3] = {0, 0, 0};
        for (const auto& e : inst) {
            const auto& ids = e.input_ids;
            const size_t n = ids.size();
            QVERIFY(n <= 64 && n >= 5);
            QCOMPARE(e.token_type_ids.size(), n);
            QCOMPARE(e.segment_ids.size(), n);
            QCOMPARE(e.special_tokens_mask.size(), n);
            QVERIFY(e.sso_label >= 0 && e.sso_label <= 2);
            ++counts[e.sso_label];
            // [CLS] A [SEP] B [SEP]
            QCOMPARE(ids.front(), kCls);
            QCOMPARE(ids.back(), kSep);
            size_t mid = 0;
            for (size_t i = 1; i + 1 < n; ++i)
                if (ids[i] == kSep) {
                    QCOMPARE(mid, size_t(0));
                    mid = i;
                }
            QVERIFY(mid > 1 && mid + 2 < n);
            for (size_t i = 0; i < n; ++i) {
                const bool special = i == 0 || i == mid || i + 1 == n;
                QCOMPARE(int(e.special_tokens_mask[i]), special ? 1 : 0);
                QCOMPARE(e.token_type_ids[i], int64_t(i <= mid ? 0 : 1));
            }
            // Segment ids: 0 for [CLS], rising by at most one, each [SEP] a segment of its own, A starting
            // at 1.
            QCOMPARE(e.segment_ids[0], int64_t(0));
            QCOMPARE(e.segment_ids[1], int64_t(1));
            for (size_t i = 1; i < n; ++i) {
                const int64_t d = e.segment_ids[i] - e.segment_ids[i - 1];
                QVERIFY(d == 0 || d == 1);
                // A new segment starts exactly where the row changes.
                if (i > 1 && i != mid && i - 1 != mid && i + 1 < n)
                    QCOMPARE(d != 0, rowOf(ids[i]) != rowOf(ids[i - 1]));
            }
            QVERIFY(e.segment_ids[mid] > e.segment_ids[mid - 1] &&
                    e.segment_ids[mid + 1] > e.segment_ids[mid]);
            QVERIFY(e.segment_ids[n - 1] > e.segment_ids[n - 2]);
            // Rows of A and B: never shared (no A = B instance), in order for 0, swapped for 1, elsewhere
            // for 2.
            std::set<int64_t> a_rows, b_rows;
            for (size_t i = 1; i < mid; ++i) a_rows.insert(rowOf(ids[i]));
            for (size_t i = mid + 1; i + 1 < n; ++i) b_rows.insert(rowOf(ids[i]));
            for (int64_t r : a_rows) QVERIFY(!b_rows.count(r));
            if (e.sso_label == 0) {
                QVERIFY(*a_rows.rbegin() < *b_rows.begin());
                QCOMPARE(e.b_chunk, e.chunk);
            } else if (e.sso_label == 1) {
                QVERIFY(*b_rows.rbegin() < *a_rows.begin());
                QCOMPARE(e.b_chunk, e.chunk);
            } else {
                QVERIFY(e.b_chunk != e.chunk);
                // Same block of 1000 rows.
                QCOMPARE(*b_rows.begin() / 1000, *a_rows.begin() / 1000);
            }
        }
        const double total = static_cast<double>(inst.size());
        QVERIFY2(withinSigma(counts[0], total, 1.0 / 3), std::to_string(counts[0]).c_str());
        QVERIFY2(withinSigma(counts[1], total, 1.0 / 3), std::to_string(counts[1]).c_str());
        QVERIFY2(withinSigma(counts[2], total, 1.0 / 3), std::to_string(counts[2]).c_str());
        QVERIFY(counts[2] <= counts[0] + 5 * std::sqrt(total));

        // Same seed, same instances.
        ponet::SsoPairBuilder again(TestTokenizer().special_tokens(), o);
        const auto inst2 = again.build(rows);
        QCOMPARE(inst2.size(), inst.size());
        for (size_t i = 0; i < inst.size(); i += 97) QCOMPARE(inst2[i].input_ids, inst[i].input_ids);
    }

    void ssoSegmentExample() {
        // Rows of lengths 3, 2, 4 and then 2: one chunk of four rows with a target of 509.
        std::vector<std::vector<int64_t>> rows = {{10, 11, 12}, {20, 21}, {30, 31, 32, 33}, {40, 41}};
        ponet::SsoOptions o;
        o.short_seq_prob = 0;
        for (uint64_t seed = 0; seed < 40; ++seed) {
            o.seed = seed;
            ponet::SsoPairBuilder b(TestTokenizer().special_tokens(), o);
            const auto inst = b.build(rows);
            QCOMPARE(inst.size(), size_t(1));  // one chunk: label 2 is impossible (§7 #8)
            const auto& e = inst[0];
            QVERIFY(e.sso_label == 0 || e.sso_label == 1);
            // Sentence ids restart at 1 after [CLS] and at mid+1 after the first [SEP], whatever the order.
            std::vector<int64_t> want{0};
            int64_t seg = 0;
            size_t i = 1;
            for (; e.input_ids[i] != kSep; ++i) {
                if (i == 1 || e.input_ids[i] / 10 != e.input_ids[i - 1] / 10) ++seg;
                want.push_back(seg);
            }
            want.push_back(++seg);
            for (++i; i + 1 < e.input_ids.size(); ++i) {
                if (e.input_ids[i - 1] == kSep || e.input_ids[i] / 10 != e.input_ids[i - 1] / 10) ++seg;
                want.push_back(seg);
            }
            want.push_back(++seg);
            QCOMPARE(e.segment_ids, want);
            QCOMPARE(e.input_ids.size(), size_t(14));
        }
    }

    void ssoSingleRowChunksSkipped() {
        // Every row reaches the target alone: each chunk has one row, the reference would emit (r, r) pairs.
        std::vector<std::vector<int64_t>> rows(50, std::vector<int64_t>(40, 77));
        ponet::SsoOptions o;
        o.max_seq_length = 32;
        o.short_seq_prob = 0;
        ponet::SsoPairBuilder b(TestTokenizer().special_tokens(), o);
        QVERIFY(b.build(rows).empty());
        // Truncation keeps long pairs within the limit.
        rows = taggedRows(30, 3, 10, 25);
        const auto inst = b.build(rows);
        QVERIFY(!inst.empty());
        for (const auto& e : inst) QVERIFY(e.input_ids.size() <= 32);
    }

    void ssoRejectsMissingSpecials() {
        ponet::SpecialTokens none;
        none.cls = -1;
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::SsoPairBuilder(none, ponet::SsoOptions{}));
    }

    // -------------------------------------------------------------------------------------------------------
    // MLM (§2.5)

    void mlmRatesAndSpecials() {
        const TestTokenizer tok;
        std::vector<Example> ex(400);
        std::mt19937_64 rng(5);
        for (auto& e : ex) {
            const int64_t n = ponet::uniform_int(rng, 200, 400);
            e.input_ids.push_back(kCls);
            e.special_tokens_mask.push_back(1);
            for (int64_t i = 0; i < n; ++i) {
                e.input_ids.push_back(ponet::uniform_int(rng, kFirstWord, 159));
                e.special_tokens_mask.push_back(0);
            }
            e.input_ids.push_back(kSep);
            e.special_tokens_mask.push_back(1);
        }
        auto b = ponet::collate(pointers(ex));
        const auto original = b.input_ids.clone();
        ponet::MlmMasker masker(tok.special_tokens(), tok.vocab_size(), 11);
        const std::string start_state = masker.state();
        ponet::apply_mlm(b, masker);
        const auto special = b.special_tokens_mask.to(torch::kBool);
        const auto selected = b.labels.ne(-100);
        const double candidates = special.logical_not().sum().item<double>();
        QVERIFY(candidates >= 100000);
        // Specials and padding: never selected, never changed.
        QVERIFY(!(selected & special).any().item<bool>());
        QVERIFY(b.input_ids.masked_select(special).equal(original.masked_select(special)));
        QVERIFY(b.labels.masked_select(selected).equal(original.masked_select(selected)));
        QVERIFY(b.input_ids.masked_select(selected.logical_not())
                    .equal(original.masked_select(selected.logical_not())));
        const double n_sel = selected.sum().item<double>();
        QVERIFY2(withinSigma(n_sel, candidates, 0.15), std::to_string(n_sel / candidates).c_str());
        const double n_mask = (selected & b.input_ids.eq(kMask)).sum().item<double>();
        const auto other = selected & b.input_ids.ne(kMask);
        const double n_same = (other & b.input_ids.eq(original)).sum().item<double>();
        const double n_random = other.sum().item<double>() - n_same;
        QVERIFY(withinSigma(n_mask, n_sel, 0.8));
        // A random draw can hit the original id (1/160) or [MASK]: both are within the bounds below.
        QVERIFY2(withinSigma(n_random, n_sel, 0.1, 6), std::to_string(n_random / n_sel).c_str());
        QVERIFY2(withinSigma(n_same, n_sel, 0.1, 6), std::to_string(n_same / n_sel).c_str());
        // Random replacements come from the whole vocabulary, specials included.
        QVERIFY(b.input_ids.masked_select(other).min().item<int64_t>() < kFirstWord);

        // Determinism: the same seed or a restored state gives the same masks.
        auto again = ponet::collate(pointers(ex));
        ponet::MlmMasker m2(tok.special_tokens(), tok.vocab_size(), 99);
        m2.set_state(start_state);
        ponet::apply_mlm(again, m2);
        QVERIFY(again.input_ids.equal(b.input_ids));
        QVERIFY(again.labels.equal(b.labels));
        auto third = ponet::collate(pointers(ex));
        ponet::apply_mlm(third, m2);  // the state has moved on: different masks
        QVERIFY(!third.labels.equal(b.labels));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, m2.set_state("not a state"));
    }

    // -------------------------------------------------------------------------------------------------------
    // Classification (§3)

    void documentSegmentIds() {
        const TestTokenizer tok;
        ponet::Document d;
        d.id = "doc";
        d.text = "w1 w2. W3 is w4 w5? Again w6.";  // "W3", "is", "Again" are [UNK]
        d.labels = {"pos"};
        ponet::ClassificationExampleBuilder b(tok, ponet::LabelMap({"neg", "pos"}, false));
        const auto e = b.document(d);
        const std::vector<int64_t> ids{kCls, 6, 7, kUnk, kUnk, 9, 10, kUnk, 11, kSep};
        const std::vector<int64_t> segs{0, 1, 1, 2, 2, 2, 2, 3, 3, 4};
        QCOMPARE(e.input_ids, ids);
        QCOMPARE(e.segment_ids, segs);
        QCOMPARE(e.label, int64_t(1));
        QCOMPARE(e.token_type_ids, std::vector<int64_t>(10, 0));
        // Padding takes last + 1 again.
        ponet::Example shorter = e;
        shorter.input_ids.resize(3);
        shorter.segment_ids.resize(3);
        shorter.token_type_ids.resize(3);
        shorter.special_tokens_mask.resize(3);
        const auto batch = ponet::collate({&e, &shorter});
        const std::vector<int64_t> padded{0, 1, 1, 2, 2, 2, 2, 2, 2, 2};
        QVERIFY(batch.segment_ids[1].equal(torch::tensor(padded)));
    }

    void documentTruncation() {
        const TestTokenizer tok(1000);
        ponet::Document d;
        // Blank lines: the capital rule would keep "w9. w10" together.
        d.text =
            words(0, 10) + ".\n\n" + words(10, 10) + ".\n\n" + words(20, 10) + ".\n\n" + words(30, 10) + ".";
        ponet::ClassificationOptions o;
        o.max_length = 14;  // 12 tokens of 40
        ponet::ClassificationExampleBuilder head(tok, {}, o);
        auto e = head.document(d);
        QCOMPARE(e.input_ids.size(), size_t(14));
        for (int64_t i = 0; i < 12; ++i) QCOMPARE(e.input_ids[static_cast<size_t>(i) + 1], kFirstWord + i);
        std::vector<int64_t> segs{0};
        for (int i = 0; i < 12; ++i) segs.push_back(i < 10 ? 1 : 2);
        segs.push_back(3);
        QCOMPARE(e.segment_ids, segs);
        QCOMPARE(e.label, int64_t(-100));

        o.truncation = ponet::Truncation::HeadTail;
        o.head_fraction = 0.25;  // 3 head + 9 tail
        ponet::ClassificationExampleBuilder ht(tok, {}, o);
        e = ht.document(d);
        const std::vector<int64_t> ids{kCls, 5, 6, 7, 36, 37, 38, 39, 40, 41, 42, 43, 44, kSep};
        QCOMPARE(e.input_ids, ids);
        const std::vector<int64_t> dense{0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3};
        QCOMPARE(e.segment_ids, dense);
        QCOMPARE(ponet::kept_positions(5, 10, ponet::Truncation::HeadTail, 0.5).size(), size_t(5));
        // Single sentences use the same strategies; no explicit segment ids there.
        ponet::Document s;
        s.text = words(0, 20);
        e = ht.sentence(s);
        QCOMPARE(e.input_ids.size(), size_t(14));
        QCOMPARE(e.input_ids[4], int64_t(kFirstWord + 11));
        QVERIFY(e.segment_ids.empty());
    }

    void pairTruncationAndLabels() {
        const TestTokenizer tok(1000);
        ponet::Document d;
        d.text = words(0, 8);
        d.text_b = words(100, 3);
        d.labels = {"b", "c"};
        ponet::ClassificationOptions o;
        o.max_length = 10;  // 7 tokens for A and B
        const auto labels = ponet::LabelMap::from_documents({d, ponet::Document{"x", "", "", {"a"}, ""}});
        QVERIFY(labels.multi_label());
        QCOMPARE(labels.size(), int64_t(3));
        ponet::ClassificationExampleBuilder b(tok, labels, o);
        const auto e = b.sentence(d);
        // Longest first: A loses tokens from its end until 4 + 3 fit.
        const std::vector<int64_t> ids{kCls, 5, 6, 7, 8, kSep, 105, 106, 107, kSep};
        QCOMPARE(e.input_ids, ids);
        const std::vector<int64_t> types{0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
        QCOMPARE(e.token_type_ids, types);
        QVERIFY(e.segment_ids.empty());
        QCOMPARE(e.multi_hot, (std::vector<float>{0, 1, 1}));
        // Ties cut B.
        d.text = words(0, 5);
        d.text_b = words(100, 5);
        const auto tie = b.sentence(d);
        QCOMPARE(tie.input_ids.size(), size_t(10));
        QCOMPARE(tie.input_ids[5], kSep);  // A keeps 4, B keeps 3
        QCOMPARE(tie.input_ids[4], int64_t(8));
        // Label maps: sorted, round trip, helpful errors.
        const ponet::LabelMap m({"true", "false"}, false);
        QCOMPARE(m.index("false"), int64_t(0));
        QCOMPARE(ponet::LabelMap::from_json(m.to_json()).names(), m.names());
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, m.index("maybe"));
    }

    // -------------------------------------------------------------------------------------------------------
    // ListOps (§6.2)

    void listopsHandChecked() {
        QCOMPARE(ponet::evaluate_listops("[MAX 2 9 [MIN 4 7 ] 0 ]").value, int64_t(9));
        const auto v = ponet::evaluate_listops("( ( ( ( ( [MAX 2 ) 9 ) ( ( ( [MIN 4 ) 7 ) ] ) ) 0 ) ] )");
        QCOMPARE(v.value, int64_t(9));
        QCOMPARE(v.length, int64_t(9));
        QCOMPARE(v.depth, int64_t(3));
        QCOMPARE(ponet::evaluate_listops("[MIN 4 7 ]").value, int64_t(4));
        QCOMPARE(ponet::evaluate_listops("[MED 1 2 ]").value, int64_t(1));      // 1.5 → 1
        QCOMPARE(ponet::evaluate_listops("[MED 4 9 5 6 ]").value, int64_t(5));  // (5 + 6) / 2 → 5
        QCOMPARE(ponet::evaluate_listops("[MED 3 8 1 ]").value, int64_t(3));
        QCOMPARE(ponet::evaluate_listops("[SM 5 7 9 ]").value, int64_t(1));  // 21 mod 10
        QCOMPARE(ponet::evaluate_listops("[SM 5 [MAX 3 8 X 2 X").value,
                 int64_t(5));  // `X` closes as `]` does
        for (const char* bad : {"[MAX 2 9", "[MAX ]", "2 3", "[FIRST 1 2 ]", ") 1", "[MAX 1 ] ]"})
            QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::evaluate_listops(bad));
        // LRA ids: [MAX [MIN [MED [SM X 0..9 → 1..15, parentheses dropped, `]` → X.
        QCOMPARE(ponet::listops_vocabulary().size(), size_t(15));
        QCOMPARE(ponet::listops_token_ids("( ( ( [MAX 2 ) 9 ) ] )"), (std::vector<int64_t>{1, 8, 15, 5}));
        QCOMPARE(ponet::listops_token_ids("[SM 0 X", 2), (std::vector<int64_t>{4, 6}));
    }

    void listopsGeneratedTrees() {
        ponet::ListOpsOptions o;
        o.seed = 2024;
        ponet::ListOpsGenerator gen(o);
        std::set<std::string> seen;
        int64_t labels[10] = {};
        for (int i = 0; i < 2000; ++i) {
            const auto ex = gen.next();
            const auto v = ponet::evaluate_listops(ex.source);
            QCOMPARE(v.value, ex.label);
            QVERIFY(ex.length >= 501 && ex.length <= 1999);
            QCOMPARE(v.length, ex.length);
            QVERIFY(v.depth <= 10 && v.depth >= 2);
            QVERIFY(seen.insert(ex.source).second);
            const auto ids = ponet::listops_token_ids(ex.source, 4000);
            QCOMPARE(static_cast<int64_t>(ids.size()), ex.length);
            ++labels[ex.label];
        }
        for (int64_t c : labels) QVERIFY(c > 0);
        // Tighter limits hold too, and the seed fixes the stream.
        o.max_depth = 4;
        o.max_args = 3;
        o.min_length = 5;
        o.max_length = 12;
        ponet::ListOpsGenerator small(o), twin(o);
        for (int i = 0; i < 300; ++i) {
            const auto ex = small.next();
            QCOMPARE(twin.next().source, ex.source);
            const auto v = ponet::evaluate_listops(ex.source);
            QVERIFY(v.depth <= 4 && v.length >= 5 && v.length <= 12);
            QCOMPARE(v.value, ex.label);
        }
        const auto e = ponet::listops_example("x", "[MAX 2 9 ]", 9);
        QCOMPARE(e.input_ids, (std::vector<int64_t>{1, 8, 15, 5}));
    }

    // -------------------------------------------------------------------------------------------------------
    // Pathfinder (§6.3)

    void pathfinderLabelsVerified() {
        ponet::PathfinderOptions o;
        o.seed = 17;
        ponet::PathfinderGenerator gen(o);
        int64_t positives = 0;
        const int n = 1000;
        for (int i = 0; i < n; ++i) {
            const auto img = gen.next();
            QCOMPARE(img.pixels.size(), size_t(32 * 32));
            QCOMPARE(ponet::pathfinder_connected(img), img.label == 1);
            positives += img.label;
            int64_t lit = 0;
            for (auto p : img.pixels) lit += p > 0;
            QVERIFY(lit > 30 && lit < 400);
            // The border stays blank ("padding 1").
            for (int k = 0; k < 32; ++k) QCOMPARE(int(img.pixels[static_cast<size_t>(k)]), 0);
        }
        QVERIFY2(withinSigma(positives, n, 0.5), std::to_string(positives).c_str());
        // The check itself: cutting the path of a positive separates the markers.
        ponet::PathfinderGenerator g2(o);
        auto img = g2.next();
        while (img.label != 1) img = g2.next();
        for (int64_t y = 0; y < 32; ++y)
            for (int64_t x = 0; x < 32; ++x)
                if (std::abs(x - img.marker_a[0]) > 1 || std::abs(y - img.marker_a[1]) > 1)
                    if (std::hypot(double(x - img.marker_a[0]), double(y - img.marker_a[1])) < 5)
                        img.pixels[static_cast<size_t>(y * 32 + x)] = 0;
        QVERIFY(!ponet::pathfinder_connected(img));
        ponet::PathfinderGenerator g3(o);
        QCOMPARE(g3.next().pixels, ponet::PathfinderGenerator(o).next().pixels);
    }

    // -------------------------------------------------------------------------------------------------------
    // Bytes and pixels (§4.1)

    void bytesAndPixels() {
        QCOMPARE(ponet::byte_ids("A\xff", 10), (std::vector<int64_t>{66, 256}));
        QCOMPARE(ponet::byte_ids("abcdef", 3).size(), size_t(3));
        const uint8_t px[3] = {0, 7, 255};
        QCOMPARE(ponet::pixel_ids(px, 3, ponet::PixelIds::Raw), (std::vector<int64_t>{0, 7, 255}));
        QCOMPARE(ponet::pixel_ids(px, 3, ponet::PixelIds::Shifted), (std::vector<int64_t>{1, 8, 256}));
        // IDX: two 2×3 images.
        std::string images = std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x03", 16) +
                             std::string("\0\1\2\3\4\5\6\7\x08\x09\x0a\x0b", 12);
        std::string labels = std::string("\0\0\x08\x01\0\0\0\x02", 8) + std::string("\x07\x03", 2);
        const auto idx = ponet::parse_idx_images(images, labels);
        QCOMPARE(idx.size(), size_t(2));
        QCOMPARE(idx[1].label, int64_t(3));
        QCOMPARE(idx[1].width, int64_t(3));
        QCOMPARE(int(idx[1].pixels[5]), 11);
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::parse_idx_images(images.substr(0, 20), labels));
        // CIFAR: grayscale as TensorFlow's weights and 255.5 scale.
        std::string cifar(1 + 3072, '\0');
        cifar[0] = 4;
        cifar[1] = static_cast<char>(255);             // R of pixel 0
        cifar[1 + 1024 + 1] = static_cast<char>(255);  // G of pixel 1
        for (int c = 0; c < 3; ++c) cifar[static_cast<size_t>(1 + c * 1024 + 2)] = static_cast<char>(255);
        const auto cf = ponet::parse_cifar10(cifar);
        QCOMPARE(cf[0].label, int64_t(4));
        QCOMPARE(int(cf[0].pixels[0]), 76);   // 0.2989 * 255.5
        QCOMPARE(int(cf[0].pixels[1]), 149);  // 0.5870 * 255.5
        QCOMPARE(int(cf[0].pixels[2]), 255);
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::parse_cifar10(cifar + "x"));
        // Raw ids with the LRA mask: black pixels count as padding (§7 #18); shifted ids keep them.
        const auto parity = ponet::image_example("p", cf[0], ponet::PixelIds::Raw);
        const auto shifted = ponet::image_example("s", cf[0], ponet::PixelIds::Shifted);
        ponet::CollateOptions lra;
        lra.mask_pad_ids = true;
        QCOMPARE(ponet::collate({&parity}, lra).tokens, int64_t(3));
        QCOMPARE(ponet::collate({&shifted}, lra).tokens, int64_t(1024));
    }

    // -------------------------------------------------------------------------------------------------------
    // Batching

    void collatePadding() {
        Example a, b;
        a.input_ids = {kCls, 9, 9, kSep, 8, kSep};
        a.token_type_ids = {0, 0, 0, 0, 1, 1};
        a.segment_ids = {0, 1, 1, 2, 3, 4};
        a.special_tokens_mask = {1, 0, 0, 1, 0, 1};
        a.sso_label = 1;
        b.input_ids = {kCls, 7, kSep, 6, kSep};
        b.token_type_ids = {0, 0, 0, 1, 1};
        b.segment_ids = {0, 1, 2, 3, 4};
        b.special_tokens_mask = {1, 0, 1, 0, 1};
        b.sso_label = 2;
        ponet::CollateOptions o;
        o.pad_to_multiple = 8;
        const auto batch = ponet::collate({&a, &b}, o);
        QCOMPARE(batch.input_ids.sizes().vec(), (std::vector<int64_t>{2, 8}));
        QVERIFY(batch.input_ids[1].equal(
            torch::tensor({kCls, int64_t(7), kSep, int64_t(6), kSep, kPad, kPad, kPad})));
        QVERIFY(batch.attention_mask[1].equal(torch::tensor({1, 1, 1, 1, 1, 0, 0, 0}, torch::kLong)));
        QVERIFY(batch.token_type_ids[0].equal(torch::tensor({0, 0, 0, 0, 1, 1, 0, 0}, torch::kLong)));
        QVERIFY(batch.segment_ids[0].equal(torch::tensor({0, 1, 1, 2, 3, 4, 5, 5}, torch::kLong)));
        QVERIFY(batch.special_tokens_mask[1].equal(torch::tensor({1, 0, 1, 0, 1, 1, 1, 1}, torch::kUInt8)));
        QVERIFY(batch.sso_labels.equal(torch::tensor({1, 2}, torch::kLong)));
        QCOMPARE(batch.tokens, int64_t(11));
        // Mixing explicit and derived segment ids, or labelled and unlabelled examples, is refused.
        Example c;
        c.input_ids = {kCls, 5, kSep};
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::collate({&a, &c}));
        c.segment_ids = {0, 1, 2};
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::collate({&a, &c}));
        o.fixed_length = 4;
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, ponet::collate({&a}, o));
    }

    void samplerBucketing() {
        std::vector<int64_t> lengths;
        std::mt19937_64 rng(3);
        for (int i = 0; i < 1003; ++i) lengths.push_back(ponet::uniform_int(rng, 1, 500));
        ponet::SamplerOptions o;
        o.batch_size = 16;
        o.bucket_pool = 20;
        o.seed = 5;
        const ponet::BatchSampler bucketed(lengths, o);
        o.bucket_pool = 0;
        const ponet::BatchSampler plain(lengths, o);
        auto padding = [&](const std::vector<std::vector<size_t>>& batches) {
            int64_t pad = 0;
            for (const auto& bt : batches) {
                int64_t mx = 0;
                for (size_t i : bt) mx = std::max(mx, lengths[i]);
                for (size_t i : bt) pad += mx - lengths[i];
            }
            return pad;
        };
        const auto e0 = bucketed.epoch_batches(0);
        QCOMPARE(static_cast<int64_t>(e0.size()), bucketed.batches_per_epoch());
        std::vector<int> seen(lengths.size(), 0);
        for (const auto& bt : e0)
            for (size_t i : bt) ++seen[i];
        for (int s : seen) QCOMPARE(s, 1);
        QVERIFY(padding(e0) * 5 < padding(plain.epoch_batches(0)));
        QVERIFY(e0 == bucketed.epoch_batches(0));
        QVERIFY(e0 != bucketed.epoch_batches(1));
        o.drop_last = true;
        QCOMPARE(ponet::BatchSampler(lengths, o).epoch_batches(2).size(), size_t(1003 / 16));
    }

    void cursorResumesSameOrder() {
        auto examples = std::make_shared<std::vector<Example>>();
        std::mt19937_64 rng(8);
        for (int i = 0; i < 150; ++i) {
            Example e;
            e.id = std::to_string(i);
            const int64_t n = ponet::uniform_int(rng, 3, 30);
            e.input_ids.push_back(kCls);
            for (int64_t k = 0; k < n; ++k) e.input_ids.push_back(ponet::uniform_int(rng, kFirstWord, 159));
            e.input_ids.push_back(kSep);
            e.special_tokens_mask.assign(e.input_ids.size(), 0);
            e.special_tokens_mask.front() = e.special_tokens_mask.back() = 1;
            e.sso_label = i % 3;
            examples->push_back(e);
        }
        ponet::SamplerOptions so;
        so.batch_size = 8;
        so.seed = 42;
        so.bucket_pool = 4;
        const auto specials = TestTokenizer().special_tokens();
        auto stream = [&] {
            return std::make_shared<ponet::BatchStream>(examples, so, ponet::CollateOptions{},
                                                        std::make_shared<ponet::MlmMasker>(specials, 160, 3),
                                                        3);
        };
        auto full = stream();
        std::vector<ponet::Batch> all;
        while (auto b = full->next()) all.push_back(*b);
        QCOMPARE(static_cast<int64_t>(all.size()), 3 * full->batches_per_epoch());

        // Stop in the middle of epoch 1, save the cursor through JSON, resume in a fresh stream.
        auto first = stream();
        const size_t stop_at = static_cast<size_t>(full->batches_per_epoch() + 5);
        for (size_t i = 0; i < stop_at; ++i) first->next();
        const std::string saved = first->cursor().to_json().dump();
        const auto cursor = ponet::DataCursor::from_json(nlohmann::json::parse(saved));
        QCOMPARE(cursor.epoch, int64_t(1));
        QCOMPARE(cursor.position, int64_t(5));
        auto resumed = stream();
        resumed->restore(cursor);
        for (size_t i = stop_at; i < all.size(); ++i) {
            const auto b = resumed->next();
            QVERIFY(b.has_value());
            QCOMPARE(b->ids, all[i].ids);
            QVERIFY(b->input_ids.equal(all[i].input_ids));  // same masks too
            QVERIFY(b->labels.equal(all[i].labels));
        }
        QVERIFY(!resumed->next().has_value());
        ponet::DataCursor other = cursor;
        other.seed = 1;
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput, resumed->restore(other));
        QVERIFY_THROWS_EXCEPTION(ponet::InvalidInput,
                                 ponet::DataCursor::from_json(nlohmann::json{{"epoch", 1}}));

        // Through the prefetcher: every batch once, in order, and each carries the cursor that follows it.
        auto prefetched = stream();
        auto pf = ponet::prefetch(prefetched, 2);
        size_t i = 0;
        while (auto item = pf->next()) {
            QVERIFY(i < all.size());
            QCOMPARE(item->batch.ids, all[i].ids);
            QVERIFY(item->batch.input_ids.equal(all[i].input_ids));
            ++i;
            if (i == stop_at) {
                QCOMPARE(item->cursor.epoch, cursor.epoch);
                QCOMPARE(item->cursor.position, cursor.position);
                QCOMPARE(item->cursor.rng_state, cursor.rng_state);
            }
        }
        QCOMPARE(i, all.size());
        QVERIFY(!pf->next().has_value());
    }

    void prefetcherPropagatesErrors() {
        int produced = 0;
        ponet::Prefetcher pf(
            [&produced]() -> std::optional<ponet::LoadedBatch> {
                if (produced == 3) throw ponet::InvalidInput("line 17 of data.jsonl: broken");
                ponet::LoadedBatch b;
                b.cursor.position = produced++;
                return b;
            },
            1);
        for (int i = 0; i < 3; ++i) {
            const auto item = pf.next();
            QVERIFY(item.has_value());
            QCOMPARE(item->cursor.position, int64_t(i));
        }
        bool thrown = false;
        try {
            pf.next();
        } catch (const ponet::InvalidInput& e) {
            thrown = std::string(e.what()).find("line 17") != std::string::npos;
        }
        QVERIFY(thrown);
        QVERIFY(!pf.next().has_value());

        // Stopping while the producer waits on a full queue returns promptly.
        ponet::Prefetcher endless([]() -> std::optional<ponet::LoadedBatch> { return ponet::LoadedBatch{}; },
                                  2);
        QVERIFY(endless.next().has_value());
        endless.stop();
        QVERIFY(!endless.next().has_value());
    }

    // -------------------------------------------------------------------------------------------------------
    // The model accepts what the pipeline makes

    void batchesFeedTinyPoNet() {
        torch::manual_seed(0);
        // Pre-training: SSO pairs with explicit segment ids, dynamic MLM.
        ponet::SsoOptions so;
        so.max_seq_length = 48;
        auto rows = taggedRows(200, 4, 1, 12);
        for (auto& r : rows)
            for (auto& t : r) t = kFirstWord + t % 150;
        ponet::SsoPairBuilder builder(TestTokenizer().special_tokens(), so);
        const auto inst = builder.build(rows);
        QVERIFY(inst.size() >= 8);
        std::vector<Example> eight(inst.begin(), inst.begin() + 8);
        auto batch = ponet::collate(pointers(eight));
        ponet::MlmMasker masker(TestTokenizer().special_tokens(), 160, 1);
        ponet::apply_mlm(batch, masker);
        auto pre = ponet::build_model(tinyConfig("PoNetForPreTraining"));
        pre->eval();
        torch::NoGradGuard ng;
        const auto out = pre->forward(batch.to_model_inputs());
        QVERIFY(out.loss.defined());
        QVERIFY(std::isfinite(out.loss.item<double>()));
        QCOMPARE(out.seq_relationship_logits.size(0), int64_t(8));

        // Long documents: explicit sentence ids; GLUE-style pairs: derived ids.
        const TestTokenizer tok;
        ponet::ClassificationOptions co;
        co.max_length = 64;
        ponet::ClassificationExampleBuilder cb(tok, ponet::LabelMap({"a", "b"}, false), co);
        std::vector<Example> docs;
        for (int i = 0; i < 4; ++i) {
            ponet::Document d;
            d.id = std::to_string(i);
            d.text = words(i, 5 + i) + ". " + words(20, 3) + "! " + words(40, 30 + 10 * i);
            d.labels = {i % 2 ? "a" : "b"};
            docs.push_back(cb.document(d));
        }
        ponet::CollateOptions pad8;
        pad8.pad_to_multiple = 8;
        const auto db = ponet::collate(pointers(docs), pad8);
        QVERIFY(db.segment_ids.defined());
        auto cls = ponet::build_model(tinyConfig("PoNetForSequenceClassification"));
        cls->eval();
        const auto co_out = cls->forward(db.to_model_inputs());
        QVERIFY(std::isfinite(co_out.loss.item<double>()));
        std::vector<Example> pairs;
        for (int i = 0; i < 3; ++i) {
            ponet::Document d;
            d.text = words(i, 4);
            d.text_b = words(50, 2 + i);
            d.labels = {"a"};
            pairs.push_back(cb.sentence(d));
        }
        const auto pb = ponet::collate(pointers(pairs));
        QVERIFY(!pb.segment_ids.defined());
        QVERIFY(std::isfinite(cls->forward(pb.to_model_inputs()).loss.item<double>()));
    }
};

QTEST_GUILESS_MAIN(TestExamples)
#include "test_examples.moc"
