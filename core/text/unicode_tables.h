// The generated Unicode data behind core/text/unicode.cpp (tools/gen_unicode_tables.py writes the .cpp).
// Private to unicode.cpp: everyone else goes through unicode.h.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ponet::unicode::tables {

extern const char* const kUnicodeVersion;

// Flag runs: run i covers [first_i, first_{i+1}); the flags are unicode.h's CharFlag bits.
struct FlagRun {
    char32_t first;
    uint8_t flags;
};
extern const FlagRun kFlagRuns[];
extern const size_t kFlagRunCount;

// Simple lower-case mappings: first, first+stride, ... last each map to cp + delta.
struct LowerRun {
    char32_t first, last;
    uint8_t stride;
    int32_t delta;
};
extern const LowerRun kLowerRuns[];
extern const size_t kLowerRunCount;

// A code point expanding to `length` code points stored at `offset` of a data array.
struct Expansion {
    char32_t cp;
    uint16_t offset;
    uint8_t length;
};
extern const Expansion kLowerMulti[];
extern const size_t kLowerMultiCount;
extern const char32_t kLowerMultiData[];

// Full canonical decompositions, Hangul syllables excluded (they decompose by formula).
extern const Expansion kDecompositions[];
extern const size_t kDecompositionCount;
extern const char32_t kDecompositionData[];

// Canonical combining classes other than 0.
struct CccRun {
    char32_t first, last;
    uint8_t ccc;
};
extern const CccRun kCccRuns[];
extern const size_t kCccRunCount;

}  // namespace ponet::unicode::tables
