#include "core/data/splits.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/util/error.h"

namespace ponet {

namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL, kFnvPrime = 0x100000001b3ULL;

bool is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// Feeds the normalised form of `text` into an FNV-1a state without building the normalised string.
uint64_t hash_normalized(uint64_t h, std::string_view text) {
    bool pending_space = false, started = false;
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (is_space(c)) {
            pending_space = started;
            continue;
        }
        if (pending_space) {
            h = (h ^ ' ') * kFnvPrime;
            pending_space = false;
        }
        started = true;
        if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
        h = (h ^ c) * kFnvPrime;
    }
    return h;
}

uint64_t document_hash(const Document& d) {
    uint64_t h = hash_normalized(kFnvOffset, d.text);
    if (!d.text_b.empty())
        h = hash_normalized((h ^ 0xFF) * kFnvPrime, d.text_b);  // 0xFF never occurs in UTF-8
    return h;
}

// splitmix64: tiny, well mixed, and the same on every platform, unlike std::shuffle's unspecified algorithm.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) {  // unbiased, by rejection
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do r = next();
        while (r >= limit);
        return r % n;
    }
};

std::string stratum_key(const Document& d) {
    std::vector<std::string> labels = d.labels;
    std::sort(labels.begin(), labels.end());
    std::string key;
    for (const auto& l : labels) key += l + '\x1f';
    return key;
}

}  // namespace

const char* to_string(Split split) {
    switch (split) {
        case Split::Train:
            return "train";
        case Split::Dev:
            return "dev";
        case Split::Test:
            return "test";
    }
    return "?";
}

uint64_t normalized_text_hash(std::string_view text) {
    return hash_normalized(kFnvOffset, text);
}

std::vector<Split> assign_splits(const std::vector<Document>& documents, const SplitFractions& fr,
                                 uint64_t seed) {
    const double f[3] = {fr.train, fr.dev, fr.test};
    for (double x : f)
        if (!(x >= 0.0) || x > 1.0) throw InvalidInput("split fractions must lie between 0 and 1");
    if (std::fabs(f[0] + f[1] + f[2] - 1.0) > 1e-6)
        throw InvalidInput("split fractions must add up to 1 (they add up to " +
                           std::to_string(f[0] + f[1] + f[2]) + ")");

    struct Group {
        std::vector<size_t> members;
    };
    std::vector<Group> groups;
    std::unordered_map<uint64_t, size_t> group_of_hash;
    std::map<std::string, std::vector<size_t>> strata;  // ordered: the result must not depend on hash order
    for (size_t i = 0; i < documents.size(); ++i) {
        auto [it, fresh] = group_of_hash.emplace(document_hash(documents[i]), groups.size());
        if (fresh) {
            groups.emplace_back();
            strata[stratum_key(documents[i])].push_back(it->second);
        }
        groups[it->second].members.push_back(i);
    }

    std::vector<Split> out(documents.size(), Split::Train);
    double global_target[3] = {0, 0, 0};
    int64_t global_count[3] = {0, 0, 0};
    for (auto& [key, ids] : strata) {
        // Each stratum has its own stream, so adding a label elsewhere leaves this one's split unchanged.
        Rng rng{seed ^ hash_normalized(kFnvOffset, key)};
        for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
        int64_t docs = 0;
        for (size_t g : ids) docs += int64_t(groups[g].members.size());
        int64_t count[3] = {0, 0, 0};
        for (int k = 0; k < 3; ++k) global_target[k] += f[k] * double(docs);
        for (size_t g : ids) {
            int best = -1;
            double best_score = 0, best_global = 0;
            for (int k = 0; k < 3; ++k) {
                if (f[k] <= 0) continue;
                const double score = f[k] * double(docs) - double(count[k]);
                const double global = global_target[k] - double(global_count[k]);
                // Ties (common in small strata) go to the split furthest behind overall, so that small
                // classes do not all favour the same split.
                if (best < 0 || score > best_score + 1e-9 ||
                    (std::fabs(score - best_score) <= 1e-9 && global > best_global + 1e-9)) {
                    best = k;
                    best_score = score;
                    best_global = global;
                }
            }
            const auto n = int64_t(groups[g].members.size());
            count[best] += n;
            global_count[best] += n;
            for (size_t m : groups[g].members) out[m] = static_cast<Split>(best);
        }
    }
    return out;
}

int64_t LeakReport::leaked(const std::string& split) const {
    int64_t n = 0;
    for (const auto& [name, per] : counts)
        if (name == split)
            for (const auto& [earlier, k] : per) n += k;
    return n;
}

int64_t LeakReport::leaked(const std::string& split, const std::string& earlier) const {
    for (const auto& [name, per] : counts)
        if (name == split)
            for (const auto& [e, k] : per)
                if (e == earlier) return k;
    return 0;
}

std::string LeakReport::summary() const {
    std::ostringstream s;
    s << documents << " documents, " << unique_texts << " distinct texts\n";
    for (const auto& [name, per] : counts) {
        int64_t total = 0;
        std::string detail;
        for (const auto& [earlier, k] : per) {
            if (k == 0) continue;
            total += k;
            detail += (detail.empty() ? "" : ", ") + earlier + " " + std::to_string(k);
        }
        if (total > 0)
            s << name << ": " << total << " documents also in an earlier split (" << detail << ")\n";
    }
    if (duplicates.empty()) s << "no text appears in more than one split\n";
    return s.str();
}

LeakReport find_cross_split_duplicates(const std::vector<SplitPart>& parts) {
    LeakReport r;
    std::unordered_map<uint64_t, std::pair<size_t, std::string>> first;  // hash → (split index, id)
    for (size_t p = 0; p < parts.size(); ++p) {
        std::vector<std::pair<std::string, int64_t>> per;
        for (size_t q = 0; q < p; ++q) per.emplace_back(parts[q].name, 0);
        for (const auto& d : parts[p].documents) {
            ++r.documents;
            auto [it, fresh] = first.emplace(document_hash(d), std::make_pair(p, d.id));
            if (fresh || it->second.first == p) continue;
            ++per[it->second.first].second;
            r.duplicates.push_back({parts[p].name, d.id, parts[it->second.first].name, it->second.second});
        }
        r.counts.emplace_back(parts[p].name, std::move(per));
    }
    r.unique_texts = int64_t(first.size());
    return r;
}

}  // namespace ponet
