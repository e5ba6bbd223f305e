// LRA generators and encoders. The ListOps evaluator and the Pathfinder connectivity check are deliberately
// independent of the generators they verify.
#include "core/data/lra.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <sstream>

#include "core/util/error.h"

namespace ponet {

// ---------------------------------------------------------------------------------------------------------------
// ListOps generator

namespace {

const char* const kOps[4] = {"[MIN", "[MAX", "[MED", "[SM"};

struct TreeNode {
    int op = -1;  // index into kOps; -1 for a digit
    int64_t value = 0;
    std::vector<TreeNode> args;
};

// Stops as soon as the tree is longer than `limit` tokens: such a tree is rejected anyway, and huge trees
// (up to max_args^max_depth nodes) would otherwise dominate the running time.
struct TreeBuilder {
    std::mt19937_64& rng;
    int64_t max_depth, max_args, limit;
    int64_t length = 0, depth = 0;
    bool too_long = false;

    TreeNode grow(int64_t level) {
        TreeNode n;
        depth = std::max(depth, level);
        const double r = level < max_depth ? uniform01(rng) : 1.0;
        if (r > 0.25) {
            n.value = uniform_int(rng, 0, 9);
            ++length;
            too_long = too_long || length > limit;
            return n;
        }
        const int64_t count = uniform_int(rng, 2, max_args);
        length += 2;  // the operator and its closing bracket
        for (int64_t i = 0; i < count && !too_long; ++i) n.args.push_back(grow(level + 1));
        too_long = too_long || length > limit;
        if (too_long) return n;
        n.op = static_cast<int>(uniform_int(rng, 0, 3));
        std::vector<int64_t> v;
        for (const auto& a : n.args) v.push_back(a.value);
        std::sort(v.begin(), v.end());
        switch (n.op) {
            case 0:
                n.value = v.front();
                break;
            case 1:
                n.value = v.back();
                break;
            case 2: {
                const size_t m = v.size() / 2;
                n.value =
                    v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;  // int(np.median): floor for values >= 0
                break;
            }
            default: {
                int64_t s = 0;
                for (int64_t x : v) s += x;
                n.value = s % 10;
            }
        }
        return n;
    }
};

// The reference nests binary tuples: [OP a b c ] → ((((OP a) b) c) ]), i.e. k + 1 parenthesis pairs.
void render(const TreeNode& n, bool parens, std::string& out) {
    if (n.op < 0) {
        out += static_cast<char>('0' + n.value);
        return;
    }
    if (parens)
        for (size_t i = 0; i <= n.args.size(); ++i) out += "( ";
    out += kOps[n.op];
    for (const auto& a : n.args) {
        out += ' ';
        render(a, parens, out);
        if (parens) out += " )";
    }
    out += parens ? " ] )" : " ]";
}

std::pair<uint64_t, uint64_t> fingerprint(const std::string& s) {
    uint64_t h1 = 1469598103934665603ULL, h2 = 0x9E3779B97F4A7C15ULL;
    for (unsigned char c : s) {
        h1 = (h1 ^ c) * 1099511628211ULL;           // FNV-1a
        h2 = (h2 + c + 1) * 0xD6E8FEB86659FD93ULL;  // an unrelated multiplicative hash
        h2 ^= h2 >> 29;
    }
    return {h1, h2};
}

}  // namespace

ListOpsGenerator::ListOpsGenerator(ListOpsOptions options) : options_(options), rng_(options.seed) {
    if (options_.max_args < 2) throw InvalidInput("ListOps max_args must be at least 2");
    if (options_.max_depth < 1 || options_.max_depth > 64)
        throw InvalidInput("ListOps max_depth must be in [1, 64]");
    if (options_.min_length < 1 || options_.max_length < options_.min_length)
        throw InvalidInput("ListOps lengths need 1 <= min_length <= max_length");
    if (options_.max_depth < 2 && options_.min_length > 1)
        throw InvalidInput("ListOps trees of depth 1 are single digits; raise max_depth or lower min_length");
}

ListOpsExample ListOpsGenerator::next() {
    for (int64_t attempt = 0;; ++attempt) {
        if (attempt > 10'000'000)
            throw Error(
                "ListOps: no new tree within the limits after 10 million draws; widen the length range");
        ++drawn_;
        TreeBuilder b{rng_, options_.max_depth, options_.max_args, options_.max_length};
        const TreeNode root = b.grow(1);
        if (b.too_long || b.length < options_.min_length) continue;
        ListOpsExample ex;
        render(root, options_.parentheses, ex.source);
        if (!seen_.insert(fingerprint(ex.source)).second) continue;
        ex.label = root.value;
        ex.length = b.length;
        ex.depth = b.depth;
        const ListOpsValue check = evaluate_listops(ex.source);
        if (check.value != ex.label || check.length != ex.length || check.depth != ex.depth)
            throw Error("ListOps: generator and evaluator disagree on " + ex.source.substr(0, 80) + "...");
        return ex;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// ListOps evaluator

ListOpsValue evaluate_listops(const std::string& source) {
    static const std::map<std::string, char> ops = {
        {"[MAX", 'x'}, {"[MIN", 'n'}, {"[MED", 'd'}, {"[SM", 's'}};
    struct Frame {
        char op;
        std::vector<int64_t> args;
    };
    std::vector<Frame> stack;
    std::vector<int64_t> top;  // values outside any operator
    ListOpsValue r;
    int64_t parens = 0;
    std::istringstream in(source);
    std::string tok;
    while (in >> tok) {
        if (tok == "(" || tok == ")") {
            parens += tok == "(" ? 1 : -1;
            if (parens < 0) throw InvalidInput("ListOps: unbalanced ')'");
            continue;
        }
        ++r.length;
        if (const auto it = ops.find(tok); it != ops.end()) {
            stack.push_back({it->second, {}});
            r.depth = std::max<int64_t>(r.depth, static_cast<int64_t>(stack.size()) + 1);
            continue;
        }
        int64_t value;
        if (tok.size() == 1 && tok[0] >= '0' && tok[0] <= '9') {
            value = tok[0] - '0';
            r.depth = std::max<int64_t>(r.depth, static_cast<int64_t>(stack.size()) + 1);
        } else if (tok == "]" || tok == "X") {
            if (stack.empty()) throw InvalidInput("ListOps: '" + tok + "' closes no operator");
            Frame f = std::move(stack.back());
            stack.pop_back();
            if (f.args.empty()) throw InvalidInput("ListOps: an operator without arguments");
            auto& a = f.args;
            std::sort(a.begin(), a.end());
            int64_t sum = 0;
            for (int64_t x : a) sum += x;
            switch (f.op) {
                case 'x':
                    value = a.back();
                    break;
                case 'n':
                    value = a.front();
                    break;
                case 's':
                    value = sum % 10;
                    break;
                default: {
                    // np.median averages the two middle values of an even count; int() then truncates.
                    const size_t n = a.size();
                    value =
                        n % 2 ? a[n / 2] : static_cast<int64_t>(std::floor((a[n / 2 - 1] + a[n / 2]) / 2.0));
                }
            }
        } else {
            throw InvalidInput("ListOps: unknown token '" + tok + "'");
        }
        (stack.empty() ? top : stack.back().args).push_back(value);
    }
    if (!stack.empty())
        throw InvalidInput("ListOps: " + std::to_string(stack.size()) + " operator(s) left open");
    if (parens != 0) throw InvalidInput("ListOps: unbalanced '('");
    if (top.size() != 1)
        throw InvalidInput("ListOps: expected one expression, found " + std::to_string(top.size()));
    r.value = top.front();
    return r;
}

const std::vector<std::string>& listops_vocabulary() {
    static const std::vector<std::string> v = {"[MAX", "[MIN", "[MED", "[SM", "X", "0", "1", "2",
                                               "3",    "4",    "5",    "6",   "7", "8", "9"};
    return v;
}

std::vector<int64_t> listops_token_ids(const std::string& source, int64_t max_length) {
    static const std::map<std::string, int64_t> ids = [] {
        std::map<std::string, int64_t> m;
        const auto& v = listops_vocabulary();
        for (size_t i = 0; i < v.size(); ++i) m[v[i]] = static_cast<int64_t>(i) + 1;
        m["]"] = m["X"];
        return m;
    }();
    std::vector<int64_t> out;
    std::istringstream in(source);
    std::string tok;
    while (in >> tok && static_cast<int64_t>(out.size()) < max_length) {
        if (tok == "(" || tok == ")") continue;
        const auto it = ids.find(tok);
        if (it == ids.end()) throw InvalidInput("ListOps: unknown token '" + tok + "'");
        out.push_back(it->second);
    }
    return out;
}

Example listops_example(const std::string& id, const std::string& source, int64_t label, int64_t max_length) {
    Example ex;
    ex.id = id;
    ex.input_ids = listops_token_ids(source, max_length);
    ex.label = label;
    return ex;
}

// ---------------------------------------------------------------------------------------------------------------
// Pathfinder

namespace {

constexpr double kPi = 3.14159265358979323846;
// Lit pixels of different paths keep this Chebyshev distance apart, one more than the link radius of the
// check.
constexpr int64_t kSeparation = 3;

struct Canvas {
    int64_t size, margin;
    std::vector<uint8_t> pix;
    std::vector<int> owner;  // path index, -1 = free

    bool inside(int64_t x, int64_t y) const {
        return x >= margin && y >= margin && x < size - margin && y < size - margin;
    }
    // Free for path `k`: on the canvas, and no pixel of another path within kSeparation - 1.
    bool free_for(const std::vector<std::array<int64_t, 2>>& px, int k) const {
        for (const auto& p : px) {
            if (!inside(p[0], p[1])) return false;
            for (int64_t dy = -(kSeparation - 1); dy <= kSeparation - 1; ++dy)
                for (int64_t dx = -(kSeparation - 1); dx <= kSeparation - 1; ++dx) {
                    const int64_t x = p[0] + dx, y = p[1] + dy;
                    if (x < 0 || y < 0 || x >= size || y >= size) continue;
                    const int o = owner[static_cast<size_t>(y * size + x)];
                    if (o >= 0 && o != k) return false;
                }
        }
        return true;
    }
    void paint(const std::vector<std::array<int64_t, 2>>& px, int k, uint8_t v) {
        for (const auto& p : px) {
            const auto i = static_cast<size_t>(p[1] * size + p[0]);
            owner[i] = k;
            pix[i] = std::max(pix[i], v);
        }
    }
};

std::vector<std::array<int64_t, 2>> disc(int64_t cx, int64_t cy) {
    // Radius 1.5 on the pixel grid: the 3×3 block around the centre.
    std::vector<std::array<int64_t, 2>> px;
    for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) px.push_back({cx + dx, cy + dy});
    return px;
}

std::vector<std::array<int64_t, 2>> paddle(double x, double y, double theta, double length) {
    std::vector<std::array<int64_t, 2>> px;
    const int steps = std::max(1, static_cast<int>(std::ceil(length * 4)));
    for (int s = 0; s <= steps; ++s) {
        const double t = length * s / steps;
        const std::array<int64_t, 2> p{std::llround(x + t * std::cos(theta)),
                                       std::llround(y + t * std::sin(theta))};
        if (std::find(px.begin(), px.end(), p) == px.end()) px.push_back(p);
    }
    return px;
}

}  // namespace

PathfinderGenerator::PathfinderGenerator(PathfinderOptions options) : options_(options), rng_(options.seed) {
    if (options_.distractor_length < 0)
        options_.distractor_length = std::max<int64_t>(1, options_.contour_length / 3);
    if (options_.distractors < 0)
        options_.distractors = std::max<int64_t>(1, 20 / options_.distractor_length) / 2;
    if (options_.size < 8 || options_.size > 1024) throw InvalidInput("Pathfinder size must be in [8, 1024]");
    if (options_.contour_length < 1) throw InvalidInput("Pathfinder contour_length must be at least 1");
    if (options_.paddle_length < 1 || options_.gap < 0 || options_.gap >= 2)
        // A gap of 2 pixels or more could round to a 3-pixel break that the link radius 2 no longer bridges.
        throw InvalidInput("Pathfinder needs paddle_length >= 1 and a gap in [0, 2)");
}

bool PathfinderGenerator::try_draw(PathfinderImage& img, bool connected) {
    const int64_t S = options_.size;
    Canvas c{S, options_.margin, std::vector<uint8_t>(static_cast<size_t>(S * S), 0),
             std::vector<int>(static_cast<size_t>(S * S), -1)};
    const double turn = options_.max_turn_degrees * kPi / 180.0;

    auto place_marker = [&](int k, int64_t cx, int64_t cy) {
        const auto px = disc(cx, cy);
        if (!c.free_for(px, k)) return false;
        c.paint(px, k, 255);
        return true;
    };
    // A dashed path of `n` paddles for path k starting at (x, y) in direction theta (random when NaN).
    // Leaves the end of the last paddle and its direction in (x, y, theta).
    auto grow = [&](int k, int64_t n, double& x, double& y, double& theta, bool free_start) {
        for (int64_t i = 0; i < n; ++i) {
            bool placed = false;
            for (int attempt = 0; attempt < 24 && !placed; ++attempt) {
                const double th = (i == 0 && free_start) ? uniform01(rng_) * 2 * kPi
                                                         : theta + (uniform01(rng_) * 2 - 1) * turn;
                const auto px = paddle(x, y, th, options_.paddle_length);
                if (!c.free_for(px, k)) continue;
                c.paint(px, k, static_cast<uint8_t>(uniform_int(rng_, 160, 255)));
                x += options_.paddle_length * std::cos(th);
                y += options_.paddle_length * std::sin(th);
                theta = th;
                placed = true;
            }
            if (!placed) return false;
            if (i + 1 < n) {
                x += options_.gap * std::cos(theta);
                y += options_.gap * std::sin(theta);
            }
        }
        return true;
    };
    auto random_point = [&] {
        const int64_t lo = options_.margin + 1, hi = S - options_.margin - 2;
        return std::array<int64_t, 2>{uniform_int(rng_, lo, hi), uniform_int(rng_, lo, hi)};
    };
    // A path with a marker at its start (and, for the connected case, at its end too).
    auto marked_path = [&](int k, bool end_marker, std::array<int64_t, 2>& start,
                           std::array<int64_t, 2>& end) {
        start = random_point();
        if (!place_marker(k, start[0], start[1])) return false;
        const double th0 = uniform01(rng_) * 2 * kPi;
        double x = static_cast<double>(start[0]) + 2 * std::cos(th0),
               y = static_cast<double>(start[1]) + 2 * std::sin(th0);
        double theta = th0;
        // The first paddle leaves the marker outwards, within the usual turn.
        if (!grow(k, options_.contour_length, x, y, theta, false)) return false;
        if (!end_marker) return true;
        end = {std::llround(x + 2 * std::cos(theta)), std::llround(y + 2 * std::sin(theta))};
        return place_marker(k, end[0], end[1]);
    };

    // A path that runs into the border or another path is redrawn from a new start; only when that keeps
    // failing is the whole canvas given up.
    auto with_retries = [&](const auto& draw) {
        for (int attempt = 0; attempt < 32; ++attempt) {
            const Canvas saved = c;
            if (draw()) return true;
            c = saved;
        }
        return false;
    };
    auto free_path = [&](int k, int64_t n) {
        return with_retries([&] {
            auto p = random_point();
            double x = static_cast<double>(p[0]), y = static_cast<double>(p[1]), th = 0;
            return grow(k, n, x, y, th, true);
        });
    };

    std::array<int64_t, 2> a{}, b{}, unused{};
    if (connected) {
        const bool ok = with_retries([&] {
            if (!marked_path(0, true, a, b)) return false;
            return std::hypot(static_cast<double>(a[0] - b[0]), static_cast<double>(a[1] - b[1])) >=
                   options_.min_marker_distance;
        });
        // The second path carries no marker, so both classes show two paths of the same length.
        if (!ok || !free_path(1, options_.contour_length)) return false;
    } else {
        if (!with_retries([&] { return marked_path(0, false, a, unused); })) return false;
        const bool ok = with_retries([&] {
            if (!marked_path(1, false, b, unused)) return false;
            return std::hypot(static_cast<double>(a[0] - b[0]), static_cast<double>(a[1] - b[1])) >=
                   options_.min_marker_distance;
        });
        if (!ok) return false;
    }
    for (int64_t d = 0; d < options_.distractors; ++d)
        if (!free_path(static_cast<int>(2 + d), options_.distractor_length)) return false;
    img.size = S;
    img.pixels = std::move(c.pix);
    img.label = connected ? 1 : 0;
    img.marker_a = a;
    img.marker_b = b;
    return true;
}

PathfinderImage PathfinderGenerator::next() {
    const bool connected = uniform01(rng_) < 0.5;
    PathfinderImage img;
    for (int attempt = 0; attempt < 10000; ++attempt) {
        ++drawn_;
        if (!try_draw(img, connected)) continue;
        if (pathfinder_connected(img) != connected)
            throw Error("Pathfinder: the rendered image contradicts its label (generator bug)");
        return img;
    }
    throw Error("Pathfinder: could not fit the paths on a " + std::to_string(options_.size) + "x" +
                std::to_string(options_.size) + " canvas in 10000 attempts; use fewer or shorter paths");
}

bool pathfinder_connected(const PathfinderImage& img, int64_t link_radius) {
    const int64_t S = img.size;
    if (S <= 0 || static_cast<int64_t>(img.pixels.size()) != S * S)
        throw InvalidInput("Pathfinder: bad image size");
    auto lit = [&](int64_t x, int64_t y) {
        return x >= 0 && y >= 0 && x < S && y < S && img.pixels[static_cast<size_t>(y * S + x)] > 0;
    };
    const auto& a = img.marker_a;
    const auto& b = img.marker_b;
    if (!lit(a[0], a[1]) || !lit(b[0], b[1])) return false;
    std::vector<uint8_t> seen(static_cast<size_t>(S * S), 0);
    std::deque<std::array<int64_t, 2>> queue{a};
    seen[static_cast<size_t>(a[1] * S + a[0])] = 1;
    while (!queue.empty()) {
        const auto p = queue.front();
        queue.pop_front();
        if (p == b) return true;
        for (int64_t dy = -link_radius; dy <= link_radius; ++dy)
            for (int64_t dx = -link_radius; dx <= link_radius; ++dx) {
                const int64_t x = p[0] + dx, y = p[1] + dy;
                if (!lit(x, y) || seen[static_cast<size_t>(y * S + x)]) continue;
                seen[static_cast<size_t>(y * S + x)] = 1;
                queue.push_back({x, y});
            }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Bytes and pixels

std::vector<int64_t> byte_ids(const std::string& text, int64_t max_length) {
    const size_t n = std::min(text.size(), static_cast<size_t>(std::max<int64_t>(0, max_length)));
    std::vector<int64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(static_cast<unsigned char>(text[i])) + 1;
    return ids;
}

Example byte_text_example(const Document& doc, const LabelMap& labels, int64_t max_length) {
    Example ex;
    ex.id = doc.id;
    ex.input_ids = byte_ids(doc.text, max_length);
    if (!doc.labels.empty() && labels.size() > 0) {
        if (labels.multi_label()) {
            ex.multi_hot.assign(static_cast<size_t>(labels.size()), 0.0f);
            for (const auto& l : doc.labels) ex.multi_hot[static_cast<size_t>(labels.index(l))] = 1.0f;
        } else {
            ex.label = labels.index(doc.labels.front());
        }
    }
    return ex;
}

PixelIds pixel_ids_from_string(const std::string& s) {
    if (s == "raw" || s == "parity") return PixelIds::Raw;
    if (s == "shifted") return PixelIds::Shifted;
    throw InvalidInput("unknown pixel id mode '" + s + "'; expected parity or shifted");
}

std::vector<int64_t> pixel_ids(const uint8_t* pixels, size_t n, PixelIds mode) {
    const int64_t shift = mode == PixelIds::Shifted ? 1 : 0;
    std::vector<int64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(pixels[i]) + shift;
    return ids;
}

namespace {

uint32_t be32(const std::string& s, size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

std::vector<LabelledImage> parse_idx_images(const std::string& image_bytes, const std::string& label_bytes) {
    if (image_bytes.size() < 16 || be32(image_bytes, 0) != 0x00000803)
        throw InvalidInput("not an IDX image file (expected magic 0x00000803: unsigned bytes, 3 dimensions)");
    if (label_bytes.size() < 8 || be32(label_bytes, 0) != 0x00000801)
        throw InvalidInput("not an IDX label file (expected magic 0x00000801: unsigned bytes, 1 dimension)");
    const uint64_t n = be32(image_bytes, 4), h = be32(image_bytes, 8), w = be32(image_bytes, 12);
    if (be32(label_bytes, 4) != n)
        throw InvalidInput("IDX: " + std::to_string(n) + " images but " +
                           std::to_string(be32(label_bytes, 4)) + " labels");
    if (h == 0 || w == 0 || h * w > (1u << 24)) throw InvalidInput("IDX: implausible image size");
    if (image_bytes.size() != 16 + n * h * w || label_bytes.size() != 8 + n)
        throw InvalidInput("IDX: file sizes do not match the header (truncated or padded file)");
    std::vector<LabelledImage> out(n);
    for (uint64_t i = 0; i < n; ++i) {
        auto& img = out[i];
        img.width = static_cast<int64_t>(w);
        img.height = static_cast<int64_t>(h);
        const auto* p = reinterpret_cast<const uint8_t*>(image_bytes.data()) + 16 + i * h * w;
        img.pixels.assign(p, p + h * w);
        img.label = static_cast<unsigned char>(label_bytes[8 + i]);
    }
    return out;
}

std::vector<uint8_t> rgb_to_grayscale(const uint8_t* planar_rgb, size_t pixels) {
    std::vector<uint8_t> out(pixels);
    for (size_t i = 0; i < pixels; ++i) {
        // In float32 like TensorFlow: convert to [0, 1], weight, then convert back with its 255.5 scale.
        const float r = planar_rgb[i] / 255.0f, g = planar_rgb[pixels + i] / 255.0f,
                    b = planar_rgb[2 * pixels + i] / 255.0f;
        const float gray = r * 0.2989f + g * 0.5870f + b * 0.1140f;
        out[i] = static_cast<uint8_t>(std::clamp(gray * 255.5f, 0.0f, 255.0f));
    }
    return out;
}

std::vector<LabelledImage> parse_cifar10(const std::string& bytes) {
    constexpr size_t kPixels = 32 * 32, kRecord = 1 + 3 * kPixels;
    if (bytes.empty() || bytes.size() % kRecord != 0)
        throw InvalidInput("not a CIFAR-10 binary batch: " + std::to_string(bytes.size()) +
                           " bytes is not a multiple of " + std::to_string(kRecord));
    std::vector<LabelledImage> out(bytes.size() / kRecord);
    for (size_t i = 0; i < out.size(); ++i) {
        const auto* rec = reinterpret_cast<const uint8_t*>(bytes.data()) + i * kRecord;
        if (rec[0] > 9)
            throw InvalidInput("CIFAR-10 record " + std::to_string(i) + " has label " +
                               std::to_string(rec[0]));
        out[i].width = out[i].height = 32;
        out[i].label = rec[0];
        out[i].pixels = rgb_to_grayscale(rec + 1, kPixels);
    }
    return out;
}

Example image_example(const std::string& id, const LabelledImage& img, PixelIds mode) {
    Example ex;
    ex.id = id;
    ex.input_ids = pixel_ids(img.pixels.data(), img.pixels.size(), mode);
    ex.label = img.label;
    return ex;
}

}  // namespace ponet
