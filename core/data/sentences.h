// Rule-based English sentence and paragraph splitting: the units that get their own SMP segment id in
// pre-training rows and long documents (PONET-SPEC §2.3, §3.2.2). The rules are listed in
// docs/DATA-PIPELINE.md.
#pragma once
#include <string>
#include <vector>

namespace ponet {

struct SentenceSplitOptions {
    // A single line break ends a sentence (one sentence per line corpora). Off: it is ordinary whitespace, as
    // in wrapped prose. A blank line always ends a sentence.
    bool newline_is_boundary = false;
    // A sentence may only start with an upper-case letter, a digit, an opening quote or bracket, or a
    // non-ASCII character. Turn off for lower-cased corpora (the Hugging Face BookCorpus copy), where the
    // other rules remain.
    bool require_capital_start = true;
};

// Sentences of `text`, trimmed, empty ones dropped. Bytes are kept as they are (UTF-8 passes through).
std::vector<std::string> split_sentences(const std::string& text, const SentenceSplitOptions& options = {});

// Paragraphs separated by blank lines (lines holding only whitespace); inner line breaks become spaces, as
// the reference does for Arxiv (§3.2.2). Trimmed, empty ones dropped.
std::vector<std::string> split_paragraphs(const std::string& text);

// Non-empty lines, trimmed (one "row" per line, as WikiText rows are).
std::vector<std::string> split_lines(const std::string& text);

}  // namespace ponet
