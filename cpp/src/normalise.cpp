// UTF-8 OCR text to canonical plates through the generated fold table, with an ASCII fast path.
#include "feblam/normalise.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace feblam {

namespace {

enum class FoldKind : std::uint8_t { keep = 0, drop = 1, control = 2, invalid = 3, space = 4 };

struct FoldRange {
    std::uint32_t first;
    std::uint32_t last;
    FoldKind kind;
    char text[8];
};

#include "fold_table.inc"

static_assert(kFoldTextMax < 8, "FoldRange::text must hold the longest folded text");

constexpr std::uint32_t kMaxCodepoint = 0x10FFFF;

FoldRange fold_of(std::uint32_t cp) noexcept {
    const FoldRange* begin = kFoldRanges;
    const FoldRange* end = kFoldRanges + std::size(kFoldRanges);
    const FoldRange* after =
        std::upper_bound(begin, end, cp, [](std::uint32_t v, const FoldRange& r) { return v < r.first; });
    if (after != begin && cp <= (after - 1)->last) return *(after - 1);
    return FoldRange{cp, cp, FoldKind::invalid, ""};
}

// One byte per ASCII character for the fast path: the character to keep, or one of these codes.
constexpr std::uint8_t kLeaveFastPath = 0;  // control, invalid, or needs the general path
constexpr std::uint8_t kAsciiDrop = 1;
constexpr std::uint8_t kAsciiSpace = 2;

using AsciiTable = std::array<std::uint8_t, 256>;

constexpr AsciiTable make_ascii_table(bool keep_wildcards) {
    AsciiTable table{};
    for (const FoldRange& r : kFoldRanges) {
        if (r.first >= 0x80) break;
        for (std::uint32_t cp = r.first; cp <= r.last && cp < 0x80; ++cp) {
            std::uint8_t code = kLeaveFastPath;
            if (r.kind == FoldKind::keep && r.text[1] == '\0') code = static_cast<std::uint8_t>(r.text[0]);
            if (r.kind == FoldKind::drop) code = kAsciiDrop;
            if (r.kind == FoldKind::space) code = kAsciiSpace;
            table[cp] = code;
        }
    }
    if (keep_wildcards) {
        table['?'] = '?';
        table['*'] = '*';
    }
    return table;
}

constexpr AsciiTable kPlateAscii = make_ascii_table(false);
constexpr AsciiTable kPatternAscii = make_ascii_table(true);

Plate failed(PlateStatus status) noexcept {
    Plate p;
    p.status = status;
    return p;
}

bool is_wildcard(char c) noexcept { return c == '?' || c == '*'; }

// Length of the UTF-8 sequence at s[i] and its code point, or 0 when it is malformed (truncated,
// overlong, beyond U+10FFFF, stray continuation). Encoded surrogates decode: the fold table calls
// them INVALID_CHARACTER, as the reference does for a str holding one.
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
    const std::size_t avail = s.size() - i;
    const std::uint8_t b0 = byte(0);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    std::size_t len = 0;
    std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0Fu;
        if (b0 == 0xE0) lo = 0xA0;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07u;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < len) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const std::uint8_t b = byte(k);
        const std::uint8_t min = k == 1 ? lo : std::uint8_t{0x80};
        const std::uint8_t max = k == 1 ? hi : std::uint8_t{0xBF};
        if (b < min || b > max) return 0;
        cp = (cp << 6) | (b & 0x3Fu);
    }
    return cp <= kMaxCodepoint ? len : 0;
}

// Result once every code point has been classified without a control or invalid one.
Plate finish(Plate p, std::size_t kept, std::size_t alnum, bool only_space) noexcept {
    if (alnum == 0) return failed(only_space ? PlateStatus::empty : PlateStatus::nothing_left);
    if (kept > static_cast<std::size_t>(kMaxPlateLen)) return failed(PlateStatus::too_long);
    p.len = static_cast<std::uint8_t>(kept);
    p.status = PlateStatus::ok;
    return p;
}

Plate fold_general(std::string_view s, bool keep_wildcards) noexcept {
    std::size_t codepoints = 0;
    std::uint32_t cp = 0;
    for (std::size_t i = 0; i < s.size(); ++codepoints) {
        const std::size_t len = decode_utf8(s, i, cp);
        if (len == 0) return failed(PlateStatus::invalid_utf8);
        i += len;
    }
    if (codepoints > static_cast<std::size_t>(kMaxRawCodepoints)) return failed(PlateStatus::too_long);

    Plate p;
    std::size_t kept = 0, alnum = 0;
    bool only_space = true;
    auto keep = [&](char c) {
        if (kept < static_cast<std::size_t>(kMaxPlateLen)) p.text[kept] = c;
        ++kept;
        if (!is_wildcard(c)) ++alnum;
    };
    for (std::size_t i = 0; i < s.size();) {
        i += decode_utf8(s, i, cp);
        if (keep_wildcards && (cp == '?' || cp == '*')) {
            only_space = false;
            keep(static_cast<char>(cp));
            continue;
        }
        const FoldRange r = fold_of(cp);
        if (r.kind != FoldKind::space) only_space = false;
        switch (r.kind) {
            case FoldKind::control: return failed(PlateStatus::control_character);
            case FoldKind::invalid: return failed(PlateStatus::invalid_character);
            case FoldKind::keep:
                for (const char* t = r.text; *t != '\0'; ++t) keep(*t);
                break;
            case FoldKind::drop:
            case FoldKind::space: break;
        }
    }
    return finish(p, kept, alnum, only_space);
}

// The common case - short ASCII text of letters, digits and separators - in one branch-free,
// table-driven pass with no decoding; anything else starts over on the general path.
template <bool KeepWildcards>
Plate fold(std::string_view s) noexcept {
    const std::size_t n = s.size();
    if (n > static_cast<std::size_t>(kMaxRawCodepoints)) return fold_general(s, KeepWildcards);
    const AsciiTable& table = KeepWildcards ? kPatternAscii : kPlateAscii;
    // Kept characters land at buffer[kept]; the head is zeroed so the plate's unused tail is zero.
    char buffer[kMaxRawCodepoints + 1];
    std::memset(buffer, 0, 16);
    std::size_t kept = 0, wildcards = 0;
    bool leave = false, dropped = false;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t code = table[static_cast<std::uint8_t>(s[i])];
        buffer[kept] = static_cast<char>(code);
        kept += code > kAsciiSpace;
        leave |= code == kLeaveFastPath;
        dropped |= code == kAsciiDrop;
        if (KeepWildcards) wildcards += code == '?' || code == '*';
    }
    if (leave) return fold_general(s, KeepWildcards);
    buffer[kept] = '\0';
    if (kept - wildcards == 0) return failed(!dropped && kept == 0 ? PlateStatus::empty : PlateStatus::nothing_left);
    if (kept > static_cast<std::size_t>(kMaxPlateLen)) return failed(PlateStatus::too_long);
    Plate p;
    std::memcpy(p.text, buffer, sizeof p.text);
    p.len = static_cast<std::uint8_t>(kept);
    p.status = PlateStatus::ok;
    return p;
}

}  // namespace

Plate normalise_plate(std::string_view utf8) noexcept { return fold<false>(utf8); }
Plate normalise_pattern(std::string_view utf8) noexcept { return fold<true>(utf8); }

}  // namespace feblam
