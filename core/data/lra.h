// Long Range Arena data (PONET-SPEC §4.1, §6.2, §6.3): the ListOps generator with an independent evaluator,
// a Pathfinder-style image generator with a connectivity check, byte-level text and pixel-sequence images.
#pragma once
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/data/classification.h"
#include "core/data/pretraining.h"
#include "core/text/byte_tokenizer.h"  // PixelIds: Raw (the reference's ids) or Shifted (§7 #18 fixed)

namespace ponet {

// ---------------------------------------------------------------------------------------------------------------
// ListOps (§6.2)

struct ListOpsOptions {
    int64_t max_depth = 10;  // nodes at depth max_depth are digits (the root has depth 1)
    int64_t max_args = 10;   // an operator takes 2..max_args arguments
    // Length = tokens without parentheses; the reference keeps 500 < length < 2000.
    int64_t min_length = 501, max_length = 1999;
    bool parentheses = true;  // the LRA TSV form `( ( ( [MAX 2 ) 9 ) ] )`; off: `[MAX 2 9 ]`
    uint64_t seed = 0;
};

struct ListOpsExample {
    std::string source;
    int64_t label = 0;   // the value, 0..9
    int64_t length = 0;  // tokens without parentheses
    int64_t depth = 0;   // the deepest node, root = 1
};

class ListOpsGenerator {
  public:
    // Throws InvalidInput for limits no tree can meet (max_depth < 2 with min_length > 1, max_args < 2, ...).
    explicit ListOpsGenerator(ListOpsOptions options);
    // A tree within the limits that this generator has not produced before, its label confirmed by
    // evaluate_listops on the rendered string (throws ponet::Error if they ever disagree).
    ListOpsExample next();
    const ListOpsOptions& options() const { return options_; }
    int64_t trees_drawn() const { return drawn_; }  // including the rejected ones

  private:
    ListOpsOptions options_;
    std::mt19937_64 rng_;
    std::set<std::pair<uint64_t, uint64_t>>
        seen_;  // 128-bit fingerprints: exact strings would cost ~4 kB each
    int64_t drawn_ = 0;
};

struct ListOpsValue {
    int64_t value = 0, length = 0, depth = 0;
};
// Parses a ListOps string (with or without parentheses, `]` or `X` closing) with an explicit stack and
// computes its value; it shares no code with the generator. Throws InvalidInput on a malformed string.
ListOpsValue evaluate_listops(const std::string& source);

// The 15 symbols of the fixed LRA tokenisation in id order: `[MAX [MIN [MED [SM X 0 … 9` → 1..15; 0 =
// padding.
const std::vector<std::string>& listops_vocabulary();
// `]` → X, parentheses dropped, whitespace split, truncated to max_length. Throws InvalidInput on other
// symbols.
std::vector<int64_t> listops_token_ids(const std::string& source, int64_t max_length = 2000);
Example listops_example(const std::string& id, const std::string& source, int64_t label,
                        int64_t max_length = 2000);

// ---------------------------------------------------------------------------------------------------------------
// Pathfinder-style images (§6.3). Parameters and how they differ from the LRA generator:
// docs/DATA-PIPELINE.md.

struct PathfinderOptions {
    int64_t size = 32;               // square canvas
    int64_t margin = 1;              // blank border ("padding 1")
    int64_t contour_length = 6;      // paddles in each of the two marked paths
    double paddle_length = 2.0;      // pixels
    double gap = 1.5;                // between paddles: the dash
    double max_turn_degrees = 30;    // curvature between consecutive paddles ("continuity")
    int64_t distractor_length = -1;  // paddles; -1: max(1, contour_length / 3)
    int64_t distractors = -1;        // -1: max(1, 20 / distractor_length) / 2 (a 32×32 canvas holds no more)
    double min_marker_distance = 7;  // "seed distance"
    uint64_t seed = 0;
};

struct PathfinderImage {
    int64_t size = 0;
    std::vector<uint8_t> pixels;                    // row-major, 0 = background
    int64_t label = 0;                              // 1: one path joins the two markers
    std::array<int64_t, 2> marker_a{}, marker_b{};  // centres (x, y)
};

class PathfinderGenerator {
  public:
    explicit PathfinderGenerator(PathfinderOptions options);
    // Label 1 or 0 with probability ½ each; the label is confirmed by pathfinder_connected (throws
    // ponet::Error if they ever disagree, and when the canvas cannot hold the requested paths after many
    // attempts).
    PathfinderImage next();
    const PathfinderOptions& options() const { return options_; }
    int64_t canvases_drawn() const { return drawn_; }

  private:
    bool try_draw(PathfinderImage& img, bool connected);
    PathfinderOptions options_;
    std::mt19937_64 rng_;
    int64_t drawn_ = 0;
};

// Whether the two markers lie in one connected set of lit pixels, two lit pixels being linked when their
// Chebyshev distance is at most `link_radius` (so that the gaps of a dashed path do not cut it). Looks only
// at the pixels and the marker centres, not at how the generator drew them.
bool pathfinder_connected(const PathfinderImage& img, int64_t link_radius = 2);

// ---------------------------------------------------------------------------------------------------------------
// Bytes and pixels (§4.1)

// LRA Text/Retrieval: id = byte + 1 (0 stays padding), truncated to max_length.
std::vector<int64_t> byte_ids(const std::string& text, int64_t max_length = 4000);
Example byte_text_example(const Document& doc, const LabelMap& labels, int64_t max_length = 4000);

// Pixel intensity → token id (PixelIds from byte_tokenizer.h). Raw: id = pixel, as the reference (black pixels then look like padding to
// the `id != 0` mask, §7 #18). Shifted: id = pixel + 1, the fixed variant (vocabulary 257).
PixelIds pixel_ids_from_string(const std::string& s);  // "raw" (alias "parity"), "shifted"
std::vector<int64_t> pixel_ids(const uint8_t* pixels, size_t n, PixelIds mode);

struct LabelledImage {
    int64_t width = 0, height = 0;
    std::vector<uint8_t> pixels;  // grayscale, row-major
    int64_t label = -100;
};
// IDX files (MNIST, Fashion-MNIST): unsigned-byte images [N, H, W] and labels [N]. Throws InvalidInput.
std::vector<LabelledImage> parse_idx_images(const std::string& image_bytes, const std::string& label_bytes);
// CIFAR-10 binary batches (label byte + 1024 R + 1024 G + 1024 B per record) → grayscale as
// tf.image.rgb_to_grayscale (§4.1). Throws InvalidInput when the size is not a whole number of records.
std::vector<LabelledImage> parse_cifar10(const std::string& bytes);
// tf.image.rgb_to_grayscale on planar 8-bit RGB: floor((0.2989 R + 0.5870 G + 0.1140 B) / 255 · 255.5).
std::vector<uint8_t> rgb_to_grayscale(const uint8_t* planar_rgb, size_t pixels);
Example image_example(const std::string& id, const LabelledImage& img, PixelIds mode);

}  // namespace ponet
