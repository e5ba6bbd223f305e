// The slice of Unicode the tokenizers need: UTF-8 decoding that never fails, and the character properties
// and mappings of BERT's BasicTokenizer as Python computes them (tables generated from Python's unicodedata
// by tools/gen_unicode_tables.py). No ICU and no Qt, so the core stays small and tokenisation is identical
// on every machine.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ponet::unicode {

constexpr char32_t kReplacementChar = 0xFFFD;

// One step of UTF-8 decoding. Ill-formed input yields U+FFFD for each maximal subpart of an ill-formed
// sequence (Unicode §3.9, "U+FFFD substitution of maximal subparts"), which is what Python's
// bytes.decode('utf-8', 'replace') does; `length` bytes were consumed and `valid` tells which case it was.
struct Decoded {
    char32_t cp;
    uint32_t length;
    bool valid;
};
Decoded decode_one(const unsigned char* p, const unsigned char* end);

// Decodes all of `bytes` into `out` (replacing its content). Returns the number of bytes replaced.
size_t decode_utf8(std::string_view bytes, std::u32string& out);

// `bytes` with every ill-formed sequence replaced as decode_one does; adds the replaced bytes to
// *replaced_bytes when given.
std::string sanitize_utf8(std::string_view bytes, int64_t* replaced_bytes = nullptr);

void append_utf8(char32_t cp, std::string& out);
std::string encode_utf8(std::u32string_view cps);

// Character flags (a bit set), as BERT's BasicTokenizer sees characters.
enum CharFlag : uint8_t {
    kControl = 1,         // category C* except \t \n \r: BERT drops these
    kWhitespace = 2,      // ' ', \t, \n, \r or category Zs: BERT turns these into spaces
    kPunctuation = 4,     // category P*, plus every ASCII symbol (33-47, 58-64, 91-96, 123-126)
    kNonspacingMark = 8,  // category Mn: removed by accent stripping
    kPythonSpace = 16,    // str.isspace(): where str.split() cuts (U+2028 and U+2029 survive cleaning)
};
uint8_t char_flags(char32_t cp);

inline bool is_bert_control(char32_t cp) {
    return char_flags(cp) & kControl;
}
inline bool is_bert_whitespace(char32_t cp) {
    return char_flags(cp) & kWhitespace;
}
inline bool is_bert_punctuation(char32_t cp) {
    return char_flags(cp) & kPunctuation;
}
inline bool is_nonspacing_mark(char32_t cp) {
    return char_flags(cp) & kNonspacingMark;
}
inline bool is_python_space(char32_t cp) {
    return char_flags(cp) & kPythonSpace;
}

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions A-E plus the CJK
// compatibility ideographs. Deliberately not all of CJK: kana and Hangul are not split out by BERT.
bool is_cjk_ideograph(char32_t cp);

// Appends Python's chr(cp).lower() (one code point, or more: U+0130 becomes "i̇").
void append_lower(char32_t cp, std::u32string& out);

// Canonical combining class (0 for starters).
uint8_t combining_class(char32_t cp);

// BERT's _run_strip_accents: NFD, then every Mn character removed. Works in place.
void strip_accents(std::u32string& text);

// The Unicode version the tables were generated from, e.g. "14.0.0".
const char* unicode_version();

}  // namespace ponet::unicode
