#include "core/text/unicode.h"

#include <algorithm>

#include "core/text/unicode_tables.h"

namespace ponet::unicode {
namespace t = tables;

namespace {

bool in(unsigned char b, unsigned char lo, unsigned char hi) {
    return b >= lo && b <= hi;
}

constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;
constexpr char32_t kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr char32_t kJamoVCount = 21, kJamoTCount = 28;

// ASCII is most of the text the tokenizers see; a direct table keeps it off the binary search.
struct AsciiFlags {
    uint8_t flags[128];
    AsciiFlags() {
        size_t run = 0;
        for (char32_t cp = 0; cp < 128; ++cp) {
            while (run + 1 < t::kFlagRunCount && t::kFlagRuns[run + 1].first <= cp) ++run;
            flags[cp] = t::kFlagRuns[run].flags;
        }
    }
};
const AsciiFlags& ascii_flags() {
    static const AsciiFlags table;
    return table;
}

const t::Expansion* find_expansion(const t::Expansion* table, size_t count, char32_t cp) {
    const t::Expansion* end = table + count;
    const t::Expansion* it =
        std::lower_bound(table, end, cp, [](const t::Expansion& e, char32_t c) { return e.cp < c; });
    return it != end && it->cp == cp ? it : nullptr;
}

void append_decomposition(char32_t cp, std::u32string& out) {
    if (cp < 0xC0) {  // nothing below U+00C0 decomposes canonically
        out.push_back(cp);
        return;
    }
    if (cp >= kHangulFirst && cp <= kHangulLast) {
        const char32_t s = cp - kHangulFirst;
        out.push_back(kJamoL + s / (kJamoVCount * kJamoTCount));
        out.push_back(kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount);
        if (s % kJamoTCount) out.push_back(kJamoT + s % kJamoTCount);
        return;
    }
    if (const auto* e = find_expansion(t::kDecompositions, t::kDecompositionCount, cp))
        out.append(t::kDecompositionData + e->offset, e->length);
    else
        out.push_back(cp);
}

}  // namespace

Decoded decode_one(const unsigned char* p, const unsigned char* end) {
    const unsigned char b0 = p[0];
    if (b0 < 0x80) return {b0, 1, true};
    const auto avail = static_cast<size_t>(end - p);
    // The second byte's range depends on the lead byte: that is what rules out overlong forms, surrogates
    // and code points past U+10FFFF at the earliest byte, as the maximal-subpart rule requires.
    int need;
    unsigned char lo = 0x80, hi = 0xBF;
    char32_t cp;
    if (in(b0, 0xC2, 0xDF)) {
        need = 1;
        cp = b0 & 0x1F;
    } else if (in(b0, 0xE0, 0xEF)) {
        need = 2;
        cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (in(b0, 0xF0, 0xF4)) {
        need = 3;
        cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return {kReplacementChar, 1, false};
    }
    uint32_t used = 1;
    for (int i = 0; i < need; ++i) {
        if (used >= avail) return {kReplacementChar, used, false};
        const unsigned char b = p[used];
        if (!in(b, lo, hi)) return {kReplacementChar, used, false};
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
        ++used;
    }
    return {cp, used, true};
}

size_t decode_utf8(std::string_view bytes, std::u32string& out) {
    out.clear();
    out.reserve(bytes.size());
    size_t replaced = 0;
    auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    auto* const end = p + bytes.size();
    while (p < end) {
        if (*p < 0x80) {
            out.push_back(*p++);
            continue;
        }
        const Decoded d = decode_one(p, end);
        if (!d.valid) replaced += d.length;
        out.push_back(d.cp);
        p += d.length;
    }
    return replaced;
}

std::string sanitize_utf8(std::string_view bytes, int64_t* replaced_bytes) {
    std::string out;
    out.reserve(bytes.size());
    int64_t replaced = 0;
    auto* const begin = reinterpret_cast<const unsigned char*>(bytes.data());
    auto* p = begin;
    auto* const end = p + bytes.size();
    auto* clean_from = p;  // valid bytes are copied in runs, not one by one
    while (p < end) {
        if (*p < 0x80) {
            ++p;
            continue;
        }
        const Decoded d = decode_one(p, end);
        if (d.valid) {
            p += d.length;
            continue;
        }
        out.append(reinterpret_cast<const char*>(clean_from), static_cast<size_t>(p - clean_from));
        append_utf8(kReplacementChar, out);
        replaced += d.length;
        p += d.length;
        clean_from = p;
    }
    out.append(reinterpret_cast<const char*>(clean_from), static_cast<size_t>(p - clean_from));
    if (replaced_bytes) *replaced_bytes += replaced;
    return out;
}

void append_utf8(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = kReplacementChar;  // a lone surrogate has no UTF-8 form
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp <= 0x10FFFF) {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        append_utf8(kReplacementChar, out);
    }
}

std::string encode_utf8(std::u32string_view cps) {
    std::string out;
    out.reserve(cps.size());
    for (char32_t cp : cps) append_utf8(cp, out);
    return out;
}

uint8_t char_flags(char32_t cp) {
    if (cp < 128) return ascii_flags().flags[cp];
    if (cp > 0x10FFFF) return kControl;
    const t::FlagRun* end = t::kFlagRuns + t::kFlagRunCount;
    const t::FlagRun* it =
        std::upper_bound(t::kFlagRuns, end, cp, [](char32_t c, const t::FlagRun& r) { return c < r.first; });
    return (it - 1)->flags;
}

bool is_cjk_ideograph(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void append_lower(char32_t cp, std::u32string& out) {
    if (cp < 128) {
        out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return;
    }
    const t::LowerRun* end = t::kLowerRuns + t::kLowerRunCount;
    const t::LowerRun* it = std::upper_bound(t::kLowerRuns, end, cp,
                                             [](char32_t c, const t::LowerRun& r) { return c < r.first; });
    if (it != t::kLowerRuns) {
        const t::LowerRun& r = *(it - 1);
        if (cp <= r.last && (cp - r.first) % r.stride == 0) {
            out.push_back(static_cast<char32_t>(static_cast<int64_t>(cp) + r.delta));
            return;
        }
    }
    if (const auto* e = find_expansion(t::kLowerMulti, t::kLowerMultiCount, cp)) {
        out.append(t::kLowerMultiData + e->offset, e->length);
        return;
    }
    out.push_back(cp);
}

uint8_t combining_class(char32_t cp) {
    if (cp < 0x300) return 0;
    const t::CccRun* end = t::kCccRuns + t::kCccRunCount;
    const t::CccRun* it =
        std::upper_bound(t::kCccRuns, end, cp, [](char32_t c, const t::CccRun& r) { return c < r.first; });
    if (it == t::kCccRuns) return 0;
    const t::CccRun& r = *(it - 1);
    return cp <= r.last ? r.ccc : 0;
}

void strip_accents(std::u32string& text) {
    bool plain = true;  // ASCII needs neither decomposition nor mark removal
    for (char32_t c : text)
        if (c >= 0xC0) {
            plain = false;
            break;
        }
    if (plain) return;
    std::u32string nfd;
    nfd.reserve(text.size() + 8);
    for (char32_t c : text) append_decomposition(c, nfd);
    // Canonical ordering: a stable sort by combining class of each run of non-starters. It can only change
    // the result through the few non-Mn characters with a nonzero class, but those exist (e.g. U+1D165).
    for (size_t i = 0; i < nfd.size();) {
        if (combining_class(nfd[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < nfd.size() && combining_class(nfd[j]) != 0) ++j;
        if (j - i > 1)
            std::stable_sort(nfd.begin() + static_cast<ptrdiff_t>(i), nfd.begin() + static_cast<ptrdiff_t>(j),
                             [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = j;
    }
    text.clear();
    for (char32_t c : nfd)
        if (!is_nonspacing_mark(c)) text.push_back(c);
}

const char* unicode_version() {
    return t::kUnicodeVersion;
}

}  // namespace ponet::unicode
