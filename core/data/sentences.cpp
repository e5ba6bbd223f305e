// A small, predictable splitter in the spirit of Punkt's rules without its trained statistics: the same text
// always splits the same way, and every rule can be read here and in docs/DATA-PIPELINE.md.
#include "core/data/sentences.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace ponet {

namespace {

bool is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_lower(unsigned char c) {
    return c >= 'a' && c <= 'z';
}
bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && is_space(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && is_space(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

bool starts_with_at(const std::string& s, size_t i, const char* lit) {
    const size_t n = std::strlen(lit);
    return i + n <= s.size() && s.compare(i, n, lit) == 0;
}

enum class Term { None, Period, Bang, Ellipsis, Cjk };

// The terminator starting at byte i and its length in bytes.
Term terminator_at(const std::string& s, size_t i, size_t* len) {
    const char c = s[i];
    *len = 1;
    if (c == '.') return Term::Period;
    if (c == '!' || c == '?') return Term::Bang;
    *len = 3;
    if (starts_with_at(s, i, "\xE2\x80\xA6")) return Term::Ellipsis;  // …
    // 。！？ end a sentence even without a following space: CJK text has none.
    if (starts_with_at(s, i, "\xE3\x80\x82") || starts_with_at(s, i, "\xEF\xBC\x81") ||
        starts_with_at(s, i, "\xEF\xBC\x9F"))
        return Term::Cjk;
    *len = 0;
    return Term::None;
}

// Closing quotes and brackets that stay with the sentence they end: `"Stop." Then` → `"Stop."` | `Then`.
size_t closer_at(const std::string& s, size_t i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '}') return 1;
    if (starts_with_at(s, i, "\xE2\x80\x9D") || starts_with_at(s, i, "\xE2\x80\x99")) return 3;  // ” ’
    if (starts_with_at(s, i, "\xC2\xBB")) return 2;                                              // »
    return 0;
}

size_t opener_at(const std::string& s, size_t i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '(' || c == '[' || c == '{') return 1;
    if (starts_with_at(s, i, "\xE2\x80\x9C") || starts_with_at(s, i, "\xE2\x80\x98")) return 3;  // “ ‘
    if (starts_with_at(s, i, "\xC2\xAB")) return 2;                                              // «
    return 0;
}

// Followed by a name or a word, never by a new sentence: "Dr. Smith", "Jan. 5", "Smith et al. found".
const std::set<std::string>& abbreviations() {
    static const std::set<std::string> s = {
        "mr",  "mrs",  "ms",  "dr",  "prof", "sr",   "jr",   "st",     "mt",  "ft",  "rev",  "hon",
        "gen", "col",  "lt",  "sgt", "capt", "cmdr", "adm",  "gov",    "sen", "rep", "pres", "messrs",
        "mme", "mlle", "vs",  "cf",  "al",   "viz",  "ca",   "approx", "jan", "feb", "mar",  "apr",
        "jun", "jul",  "aug", "sep", "sept", "oct",  "nov",  "dec",    "mon", "tue", "wed",  "thu",
        "fri", "sat",  "sun", "ave", "blvd", "dept", "univ", "assn"};
    return s;
}

// Abbreviations only before a number: "No. 5", "Fig. 3", "pp. 12" — but "I said no. Then" ends a sentence.
const std::set<std::string>& number_abbreviations() {
    static const std::set<std::string> s = {"no",  "nos", "vol", "vols", "p",   "pp", "fig", "figs",
                                            "art", "sec", "ch",  "eq",   "eqs", "op", "ed"};
    return s;
}

// The word that ends right before byte `end` (the period), lower-cased, without leading openers.
std::string word_before(const std::string& s, size_t end) {
    size_t b = end;
    while (b > 0 && !is_space(static_cast<unsigned char>(s[b - 1]))) --b;
    while (b < end && (s[b] == '"' || s[b] == '\'' || s[b] == '(' || s[b] == '[')) ++b;
    std::string w = s.substr(b, end - b);
    std::transform(w.begin(), w.end(), w.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return w;
}

// "J", "u.s", "e.g", "a.m": initials and dotted acronyms, whose final period does not end a sentence.
bool is_initial_or_acronym(const std::string& w) {
    if (w.empty()) return false;
    for (size_t i = 0; i < w.size(); ++i) {
        const bool letter_slot = i % 2 == 0;
        if (letter_slot ? !is_alpha(static_cast<unsigned char>(w[i])) : w[i] != '.') return false;
    }
    return w.size() % 2 == 1;
}

void split_block(const std::string& s, const SentenceSplitOptions& opt, std::vector<std::string>& out) {
    const size_t n = s.size();
    size_t start = 0, i = 0;
    while (i < n) {
        size_t len = 0;
        Term first = terminator_at(s, i, &len);
        if (first == Term::None) {
            ++i;
            continue;
        }
        // A run of terminators ("?!", "...", "!!!") is one end mark.
        size_t j = i;
        int periods = 0, marks = 0;
        Term last = first;
        while (j < n) {
            Term t = terminator_at(s, j, &len);
            if (t == Term::None) break;
            periods += t == Term::Period;
            ++marks;
            last = t;
            j += len;
        }
        const bool ellipsis = periods >= 3 || last == Term::Ellipsis;
        const bool single_period = marks == 1 && first == Term::Period;
        while (j < n) {
            const size_t c = closer_at(s, j);
            if (c == 0) break;
            j += c;
        }
        bool boundary = false;
        if (last == Term::Cjk) {
            boundary = true;
        } else if (j >= n) {
            boundary = true;
        } else if (is_space(static_cast<unsigned char>(s[j]))) {
            // Inside a token ("3.14", "U.S.A", "e.g.,") a period never ends a sentence; after it, look at
            // what follows.
            size_t k = j;
            while (k < n && is_space(static_cast<unsigned char>(s[k]))) ++k;
            while (k < n) {
                const size_t o = opener_at(s, k);
                if (o == 0) break;
                k += o;
            }
            const unsigned char next = k < n ? static_cast<unsigned char>(s[k]) : 'A';
            const bool next_digit = next >= '0' && next <= '9';
            const std::string word = single_period ? word_before(s, i) : std::string();
            if (single_period && (abbreviations().count(word) || is_initial_or_acronym(word) ||
                                  (next_digit && number_abbreviations().count(word)))) {
                boundary = false;
            } else if (is_lower(next)) {
                // "wait... what" and `"Really?" she asked` continue the sentence when capitals are
                // meaningful.
                boundary = !opt.require_capital_start && !ellipsis;
            } else {
                boundary = true;
            }
        }
        if (boundary) {
            std::string piece = trim(s.substr(start, j - start));
            if (!piece.empty()) out.push_back(std::move(piece));
            start = j;
        }
        i = j;
    }
    std::string piece = trim(s.substr(start));
    if (!piece.empty()) out.push_back(std::move(piece));
}

std::vector<std::string> raw_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t b = 0;
    while (b <= text.size()) {
        size_t e = text.find('\n', b);
        if (e == std::string::npos) e = text.size();
        lines.push_back(text.substr(b, e - b));
        b = e + 1;
    }
    return lines;
}

}  // namespace

std::vector<std::string> split_paragraphs(const std::string& text) {
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        std::string p = trim(current);
        if (!p.empty()) out.push_back(std::move(p));
        current.clear();
    };
    for (const auto& line : raw_lines(text)) {
        const std::string t = trim(line);
        if (t.empty()) {
            flush();
            continue;
        }
        if (!current.empty()) current += ' ';
        current += t;
    }
    flush();
    return out;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& line : raw_lines(text)) {
        std::string t = trim(line);
        if (!t.empty()) out.push_back(std::move(t));
    }
    return out;
}

std::vector<std::string> split_sentences(const std::string& text, const SentenceSplitOptions& options) {
    std::vector<std::string> out;
    if (options.newline_is_boundary) {
        for (const auto& line : split_lines(text)) split_block(line, options, out);
    } else {
        for (const auto& para : split_paragraphs(text)) split_block(para, options, out);
    }
    return out;
}

}  // namespace ponet
