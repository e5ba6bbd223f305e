// Queries and exports of an Inspection (torch-free: the GUI calls these on its own thread).
#include "core/inspect/inspection.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <sstream>

#include "core/util/error.h"

namespace ponet {
namespace {

std::string lower_ascii(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

const char* lmp_name(LmpSource s) {
    switch (s) {
        case LmpSource::Left: return "left";
        case LmpSource::Right: return "right";
        case LmpSource::Self: break;
    }
    return "self";
}

}  // namespace

float Inspection::ga_mean(int64_t layer, int64_t token) const {
    if (heads <= 0) return 0.0f;
    float sum = 0;
    for (int64_t h = 0; h < heads; ++h) sum += ga_at(layer, h, token);
    return sum / static_cast<float>(heads);
}

LmpSource Inspection::lmp_majority(int64_t layer, int64_t token) const {
    const int32_t l = lmp_count(layer, token, LmpSource::Left), s = lmp_count(layer, token, LmpSource::Self),
                  r = lmp_count(layer, token, LmpSource::Right);
    if (s >= l && s >= r) return LmpSource::Self;
    return l >= r ? LmpSource::Left : LmpSource::Right;
}

std::vector<WeightedToken> Inspection::top_tokens(int64_t layer, int64_t head, int64_t k) const {
    std::vector<WeightedToken> all;
    if (layer < 0 || layer >= layers || head >= heads) return all;
    all.reserve(static_cast<size_t>(length));
    for (int64_t t = 0; t < length; ++t) all.push_back({t, head < 0 ? ga_mean(layer, t) : ga_at(layer, head, t)});
    const size_t n = static_cast<size_t>(std::clamp<int64_t>(k, 0, length));
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                      [](const WeightedToken& a, const WeightedToken& b) {
                          return a.weight != b.weight ? a.weight > b.weight : a.token < b.token;
                      });
    all.resize(n);
    return all;
}

std::vector<SourceCount> Inspection::smp_sources(int64_t layer, int64_t token) const {
    std::vector<SourceCount> out;
    if (layer < 0 || layer >= layers || token < 0 || token >= length) return out;
    const int64_t seg = segment_of[static_cast<size_t>(token)];
    std::map<int64_t, int32_t> counts;
    const size_t base = static_cast<size_t>((layer * segments + seg) * hidden);
    for (int64_t f = 0; f < hidden; ++f) {
        const int64_t src = smp_source[base + static_cast<size_t>(f)];
        if (src >= 0) ++counts[src];
    }
    for (const auto& [src, n] : counts) out.push_back({src, n});
    std::stable_sort(out.begin(), out.end(),
                     [](const SourceCount& a, const SourceCount& b) { return a.features > b.features; });
    return out;
}

std::vector<int64_t> Inspection::find(const std::string& needle) const {
    std::vector<int64_t> hits;
    std::string n = lower_ascii(needle);
    if (n.rfind("##", 0) == 0) n = n.substr(2);
    if (n.empty()) return hits;
    for (int64_t t = 0; t < length; ++t) {
        std::string tok = lower_ascii(tokens[static_cast<size_t>(t)]);
        if (tok.rfind("##", 0) == 0) tok = tok.substr(2);
        if (tok.find(n) != std::string::npos) hits.push_back(t);
    }
    return hits;
}

std::string Inspection::to_json() const {
    using nlohmann::json;
    json j;
    j["format"] = "ponet-inspection";
    j["version"] = 1;
    j["model_path"] = model_path;
    j["checkpoint"] = checkpoint;
    j["document"] = document;
    j["note"] = note;
    j["layers"] = layers;
    j["heads"] = heads;
    j["hidden"] = hidden;
    j["length"] = length;
    j["segments"] = segments;
    j["branch_share_definition"] =
        "share_b(i) = ||part_b(i)||_2 / (||g'*O_i||_2 + ||S_i*O_i||_2 + ||L_i||_2), parts in order global, "
        "segment, local";
    j["tokens"] = tokens;
    j["token_ids"] = token_ids;
    j["segment_of"] = segment_of;
    j["special"] = special;
    j["segment_first"] = segment_first;
    json per_layer = json::array();
    for (int64_t l = 0; l < layers; ++l) {
        json layer;
        layer["layer"] = l;
        json ga_heads = json::array();
        for (int64_t h = 0; h < heads; ++h) {
            const auto b = ga.begin() + static_cast<std::ptrdiff_t>((l * heads + h) * length);
            ga_heads.push_back(std::vector<float>(b, b + length));
        }
        layer["ga"] = std::move(ga_heads);
        json top = json::array();
        for (const auto& w : top_tokens(l, -1, 10)) top.push_back({{"token", w.token}, {"weight", w.weight}});
        layer["ga_top_tokens"] = std::move(top);
        const auto wb = smp_wins.begin() + static_cast<std::ptrdiff_t>(l * length);
        layer["smp_wins"] = std::vector<int32_t>(wb, wb + length);
        json src = json::array();
        for (int64_t s = 0; s < segments; ++s) {
            const auto sb = smp_source.begin() + static_cast<std::ptrdiff_t>((l * segments + s) * hidden);
            src.push_back(std::vector<int64_t>(sb, sb + hidden));
        }
        layer["smp_source"] = std::move(src);
        json lmp = json::array(), sh = json::array();
        for (int64_t t = 0; t < length; ++t) {
            lmp.push_back({lmp_count(l, t, LmpSource::Left), lmp_count(l, t, LmpSource::Self),
                           lmp_count(l, t, LmpSource::Right)});
            sh.push_back({share(l, t, Branch::Global), share(l, t, Branch::Segment), share(l, t, Branch::Local)});
        }
        layer["lmp_counts"] = std::move(lmp);
        layer["shares"] = std::move(sh);
        per_layer.push_back(std::move(layer));
    }
    j["per_layer"] = std::move(per_layer);
    return j.dump();
}

std::string Inspection::to_csv(const std::string& view, int64_t layer) const {
    if (layer >= layers) throw InvalidInput("layer " + std::to_string(layer) + " does not exist (the model has " +
                                            std::to_string(layers) + ")");
    const int64_t l0 = layer < 0 ? 0 : layer, l1 = layer < 0 ? layers : layer + 1;
    std::ostringstream out;
    out.precision(7);
    auto token_cols = [&](int64_t t) {
        out << t << "," << csv_field(tokens[static_cast<size_t>(t)]) << "," << segment_of[static_cast<size_t>(t)];
    };
    if (view == "tokens") {
        out << "token_index,token,segment,id,special\n";
        for (int64_t t = 0; t < length; ++t) {
            token_cols(t);
            out << "," << token_ids[static_cast<size_t>(t)] << "," << int(special[static_cast<size_t>(t)]) << "\n";
        }
    } else if (view == "ga") {
        out << "layer,token_index,token,segment";
        for (int64_t h = 0; h < heads; ++h) out << ",head" << h;
        out << ",mean\n";
        for (int64_t l = l0; l < l1; ++l)
            for (int64_t t = 0; t < length; ++t) {
                out << l << ",";
                token_cols(t);
                for (int64_t h = 0; h < heads; ++h) out << "," << ga_at(l, h, t);
                out << "," << ga_mean(l, t) << "\n";
            }
    } else if (view == "smp") {
        out << "layer,token_index,token,segment,features_won,of_features\n";
        for (int64_t l = l0; l < l1; ++l)
            for (int64_t t = 0; t < length; ++t) {
                out << l << ",";
                token_cols(t);
                out << "," << smp_wins_at(l, t) << "," << hidden << "\n";
            }
    } else if (view == "lmp") {
        out << "layer,token_index,token,segment,left,self,right,majority\n";
        for (int64_t l = l0; l < l1; ++l)
            for (int64_t t = 0; t < length; ++t) {
                out << l << ",";
                token_cols(t);
                out << "," << lmp_count(l, t, LmpSource::Left) << "," << lmp_count(l, t, LmpSource::Self) << ","
                    << lmp_count(l, t, LmpSource::Right) << "," << lmp_name(lmp_majority(l, t)) << "\n";
            }
    } else if (view == "shares") {
        out << "layer,token_index,token,segment,global,segment_share,local\n";
        for (int64_t l = l0; l < l1; ++l)
            for (int64_t t = 0; t < length; ++t) {
                out << l << ",";
                token_cols(t);
                out << "," << share(l, t, Branch::Global) << "," << share(l, t, Branch::Segment) << ","
                    << share(l, t, Branch::Local) << "\n";
            }
    } else {
        throw InvalidInput("unknown view '" + view + "' (tokens, ga, smp, lmp or shares)");
    }
    return out.str();
}

}  // namespace ponet
