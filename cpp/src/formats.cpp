// National plate formats: parsing the format file and judging plates against it (docs/core.md).
#include "feblam/formats.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace feblam {

namespace {

constexpr std::uint64_t kLetterBits = (std::uint64_t{1} << 26) - 1;
constexpr std::uint64_t kDigitBits = ((std::uint64_t{1} << 10) - 1) << 26;
constexpr std::uint64_t kAllBits = kLetterBits | kDigitBits;
constexpr std::size_t kMaxLen = static_cast<std::size_t>(kMaxPlateLen);

int char_index(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '0' && c <= '9') return 26 + (c - '0');
    return -1;
}

char index_char(int i) noexcept {
    return static_cast<char>(i < 26 ? 'A' + i : '0' + (i - 26));
}

// Plates are at most ten characters: a plain loop beats a call into the C library.
bool same_text(const char* a, const char* b, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

bool plate_less(const Plate& a, const Plate& b) noexcept { return a.view() < b.view(); }
bool plate_equal(const Plate& a, const Plate& b) noexcept { return a.view() == b.view(); }
bool reading_less(const Resolution& a, const Resolution& b) noexcept { return plate_less(a.reading, b.reading); }
bool reading_equal(const Resolution& a, const Resolution& b) noexcept { return plate_equal(a.reading, b.reading); }

[[noreturn]] void spec_error(std::size_t line_no, const std::string& what) {
    throw std::invalid_argument("plate formats line " + std::to_string(line_no) + ": " + what);
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_country_token(std::string_view t) {
    if (t.empty() || t.size() > 3) return false;
    return std::all_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// 1-2 ASCII digits; -1 otherwise.
int small_number(std::string_view t) {
    if (t.empty() || t.size() > 2) return -1;
    int n = 0;
    for (char c : t) {
        if (c < '0' || c > '9') return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

std::vector<std::string_view> split_tokens(std::string_view line) {
    std::vector<std::string_view> tokens;
    std::size_t pos = 0;
    auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (pos < line.size()) {
        while (pos < line.size() && is_blank(line[pos])) ++pos;
        std::size_t end = pos;
        while (end < line.size() && !is_blank(line[end])) ++end;
        if (end > pos) tokens.push_back(line.substr(pos, end - pos));
        pos = end;
    }
    return tokens;
}

struct Unit {
    char kind;
    int lo;
    int hi;
};

// Units of a pattern such as L{2,5}9{1,4}; false when it does not parse.
bool parse_pattern(std::string_view pattern, std::vector<Unit>& units) {
    if (pattern.empty()) return false;
    std::size_t i = 0;
    while (i < pattern.size()) {
        const char kind = pattern[i++];
        if (kind != 'L' && kind != '9' && kind != 'X') return false;
        int lo = 1, hi = 1;
        if (i < pattern.size() && pattern[i] == '{') {
            const std::size_t close = pattern.find('}', i);
            if (close == std::string_view::npos) return false;
            const std::string_view body = pattern.substr(i + 1, close - i - 1);
            const std::size_t comma = body.find(',');
            if (comma == std::string_view::npos) {
                lo = hi = small_number(body);
            } else {
                const std::string_view rest = body.substr(comma + 1);
                if (rest.find(',') != std::string_view::npos) return false;
                lo = small_number(body.substr(0, comma));
                hi = small_number(rest);
            }
            if (lo < 1 || hi < 1 || lo > hi || hi > kMaxPlateLen) return false;
            i = close + 1;
        }
        units.push_back({kind, lo, hi});
    }
    return true;
}

void expand(const std::vector<Unit>& units, std::size_t index, std::string& prefix, std::size_t longest,
            std::vector<std::string>& shapes) {
    if (prefix.size() > longest) return;
    if (index == units.size()) {
        shapes.push_back(prefix);
        return;
    }
    const Unit& u = units[index];
    for (int n = u.lo; n <= u.hi; ++n) {
        const std::size_t before = prefix.size();
        prefix.append(static_cast<std::size_t>(n), u.kind);
        expand(units, index + 1, prefix, longest, shapes);
        prefix.resize(before);
    }
}

// A fixed-length expansion with the letters its L positions allow.
struct Shape {
    std::string kinds;
    std::uint64_t letters;
};

struct AliasLine {
    std::size_t line_no;
    Country code;
    Country target;
    std::string code_text;
    std::string target_text;
};

struct ParsedSpec {
    std::map<Country, std::vector<Shape>> rules;  // ordered by packed code
    std::vector<AliasLine> aliases;
};

void parse_rule(std::size_t line_no, const std::vector<std::string_view>& tokens, ParsedSpec& spec) {
    if (tokens.size() < 3) spec_error(line_no, "expected COUNTRY NAME PATTERN [exclude=LETTERS] [max=N]");
    const std::string_view country = tokens[0], pattern = tokens[2];
    if (!is_country_token(country)) spec_error(line_no, "country " + quoted(country) + " is not 1-3 upper-case letters");
    std::vector<Unit> units;
    if (!parse_pattern(pattern, units)) spec_error(line_no, "bad pattern " + quoted(pattern));
    bool have_exclude = false;
    int longest = -1;
    std::uint64_t letters = kLetterBits;
    for (std::size_t t = 3; t < tokens.size(); ++t) {
        const std::string_view option = tokens[t];
        const std::size_t eq = option.find('=');
        const std::string_view key = option.substr(0, eq);
        if (eq == std::string_view::npos || (key != "exclude" && key != "max")) {
            spec_error(line_no, "unknown option " + quoted(option));
        }
        const std::string_view value = option.substr(eq + 1);
        if (key == "exclude") {
            if (have_exclude) spec_error(line_no, "option 'exclude' given twice");
            have_exclude = true;
            if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
                spec_error(line_no, "bad exclude " + quoted(value));
            }
            for (char c : value) letters &= ~(std::uint64_t{1} << (c - 'A'));
        } else {
            if (longest >= 0) spec_error(line_no, "option 'max' given twice");
            longest = small_number(value);
            if (longest < 1 || longest > kMaxPlateLen) spec_error(line_no, "bad max " + quoted(value));
        }
    }
    const std::size_t limit = longest < 0 ? kMaxLen : static_cast<std::size_t>(longest);
    std::vector<std::string> kinds;
    std::string prefix;
    expand(units, 0, prefix, limit, kinds);
    if (kinds.empty()) {
        spec_error(line_no, "pattern " + quoted(pattern) + " has no expansion of at most " +
                                std::to_string(limit) + " characters");
    }
    std::vector<Shape>& shapes = spec.rules[pack_country(country)];
    for (std::string& k : kinds) shapes.push_back({std::move(k), letters});
}

ParsedSpec parse_spec(std::string_view text) {
    ParsedSpec spec;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        ++line_no;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        line = line.substr(0, line.find('#'));
        const std::vector<std::string_view> tokens = split_tokens(line);
        if (tokens.empty()) continue;
        if (tokens[0] != "alias") {
            parse_rule(line_no, tokens, spec);
            continue;
        }
        if (tokens.size() != 3) spec_error(line_no, "expected alias CODE COUNTRY");
        for (std::size_t t = 1; t < 3; ++t) {
            if (!is_country_token(tokens[t])) {
                spec_error(line_no, "country " + quoted(tokens[t]) + " is not 1-3 upper-case letters");
            }
        }
        const Country code = pack_country(tokens[1]);
        for (const AliasLine& a : spec.aliases) {
            if (a.code == code) spec_error(line_no, "alias " + quoted(tokens[1]) + " given twice");
        }
        spec.aliases.push_back({line_no, code, pack_country(tokens[2]), std::string(tokens[1]), std::string(tokens[2])});
    }
    for (const AliasLine& a : spec.aliases) {
        if (spec.rules.count(a.code) != 0) spec_error(a.line_no, "alias " + quoted(a.code_text) + " is a country with formats");
        if (spec.rules.count(a.target) == 0) {
            spec_error(a.line_no, "alias " + quoted(a.code_text) + " names " + quoted(a.target_text) +
                                      ", which has no formats");
        }
    }
    return spec;
}

}  // namespace

FormatTable::FormatTable(std::string_view spec_text, const ConfusionClasses& classes)
    : canonical_(kCountrySpace), slot_of_(kCountrySpace, -1) {
    const ParsedSpec spec = parse_spec(spec_text);

    // Distinct allowed-character sets; a pattern position names one by its index.
    std::vector<std::uint64_t> set_masks;
    auto set_id = [&set_masks](std::uint64_t mask) {
        const auto found = std::find(set_masks.begin(), set_masks.end(), mask);
        if (found != set_masks.end()) return static_cast<std::uint8_t>(found - set_masks.begin());
        if (set_masks.size() == 255) throw std::invalid_argument("plate formats: too many distinct exclude= sets");
        set_masks.push_back(mask);
        return static_cast<std::uint8_t>(set_masks.size() - 1);
    };

    for (const auto& [country, shapes] : spec.rules) {
        slot_of_[country] = static_cast<std::int16_t>(countries_.size());
        countries_.push_back(country);
        std::array<std::uint32_t, kMaxPlateLen + 2> offsets{};
        for (std::size_t len = 1; len <= kMaxLen; ++len) {
            offsets[len] = static_cast<std::uint32_t>(patterns_.size());
            const std::size_t first = patterns_.size();
            for (const Shape& shape : shapes) {
                if (shape.kinds.size() != len) continue;
                Pattern p;
                for (std::size_t i = 0; i < len; ++i) {
                    const char k = shape.kinds[i];
                    p.set[i] = set_id(k == '9' ? kDigitBits : k == 'L' ? shape.letters : kAllBits);
                }
                const bool seen = std::any_of(patterns_.begin() + static_cast<std::ptrdiff_t>(first), patterns_.end(),
                                              [&](const Pattern& q) { return q.set == p.set; });
                if (!seen) patterns_.push_back(p);
            }
        }
        offsets[kMaxLen + 1] = static_cast<std::uint32_t>(patterns_.size());
        offsets[0] = offsets[1];
        by_length_.push_back(offsets);
    }

    options_.assign(set_masks.size() * kCharSlots, 0);
    for (std::size_t s = 0; s < set_masks.size(); ++s) {
        const std::uint64_t allowed = set_masks[s];
        for (int c = 0; c < 36; ++c) {
            std::uint8_t option = 0;
            if ((allowed >> c) & 1U) {
                option = static_cast<std::uint8_t>(index_char(c));
            } else {
                int count = 0;
                for (char m : classes.members(index_char(c))) {
                    const int mi = char_index(m);
                    if (mi >= 0 && ((allowed >> mi) & 1U)) {
                        ++count;
                        option = static_cast<std::uint8_t>(m);
                    }
                }
                if (count > 1) option = 1;
            }
            options_[s * kCharSlots + static_cast<std::size_t>(c)] = option;
        }
    }

    build_bit_sets();

    for (std::size_t c = 0; c < kCountrySpace; ++c) canonical_[c] = static_cast<Country>(c);
    for (const AliasLine& a : spec.aliases) {
        canonical_[a.code] = a.target;
        slot_of_[a.code] = slot_of_[a.target];
    }
}

void FormatTable::build_bit_sets() {
    const std::size_t cells = (kMaxLen + 1) * kMaxLen * kCharSlots;
    fit_bits_.assign(cells, 0);
    unique_bits_.assign(cells, 0);
    exact_bits_.assign(cells, 0);
    country_bits_.assign(countries_.size(), {});
    for (std::size_t n = 1; n <= kMaxLen; ++n) {
        std::size_t patterns = 0;
        for (std::size_t s = 0; s < countries_.size(); ++s) patterns += by_length_[s][n + 1] - by_length_[s][n];
        if (patterns > 64) continue;  // this length keeps the pattern loop
        bits_ready_[n] = true;
        std::size_t j = 0;
        for (std::size_t s = 0; s < countries_.size(); ++s) {
            for (std::uint32_t k = by_length_[s][n]; k < by_length_[s][n + 1]; ++k, ++j) {
                const std::uint64_t bit = std::uint64_t{1} << j;
                country_bits_[s][n] |= bit;
                for (std::size_t i = 0; i < n; ++i) {
                    for (std::size_t c = 0; c < 36; ++c) {
                        const std::uint8_t option = options_[patterns_[k].set[i] * kCharSlots + c];
                        if (option == 0) continue;
                        fit_bits_[bit_index(n, i, c)] |= bit;
                        if (option != 1) unique_bits_[bit_index(n, i, c)] |= bit;
                        if (option == static_cast<std::uint8_t>(index_char(static_cast<int>(c)))) {
                            exact_bits_[bit_index(n, i, c)] |= bit;
                        }
                    }
                }
            }
        }
    }
}

FormatTable::Verdicts FormatTable::verdicts(std::size_t len,
                                            const std::array<std::uint8_t, kMaxPlateLen>& idx) const noexcept {
    Verdicts v{~std::uint64_t{0}, ~std::uint64_t{0}, ~std::uint64_t{0}};
    for (std::size_t i = 0; i < len && v.fits != 0; ++i) {
        const std::size_t at = bit_index(len, i, idx[i]);
        v.fits &= fit_bits_[at];
        v.unique &= unique_bits_[at];
        v.exact &= exact_bits_[at];
    }
    // Cell by cell exact <= unique <= fits, so the three stay nested without masking.
    return v;
}

Country FormatTable::canonical_country(Country c) const noexcept {
    return c < kCountrySpace ? canonical_[c] : c;
}

int FormatTable::slot(Country c) const noexcept {
    return c == kUnknownCountry || c >= kCountrySpace ? -1 : slot_of_[c];
}

const std::vector<Country>& FormatTable::countries() const noexcept { return countries_; }

bool FormatTable::plate_indices(std::string_view plate, std::array<std::uint8_t, kMaxPlateLen>& idx) const noexcept {
    if (plate.empty() || plate.size() > kMaxLen) return false;
    for (std::size_t i = 0; i < plate.size(); ++i) {
        const int c = char_index(plate[i]);
        if (c < 0) return false;
        idx[i] = static_cast<std::uint8_t>(c);
    }
    return true;
}

FormatTable::Fit FormatTable::read(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx,
                                   const Pattern& p, char* reading) const noexcept {
    bool several = false, exact = true;
    for (std::size_t i = 0; i < plate.size(); ++i) {
        const std::uint8_t option = options_[p.set[i] * kCharSlots + idx[i]];
        if (option == 0) return 0;
        several |= option == 1;
        reading[i] = static_cast<char>(option);
        exact &= static_cast<char>(option) == plate[i];
    }
    return static_cast<Fit>(kFits | (several ? 0 : kUnique) | (exact ? kExact : 0));
}

bool FormatTable::fits_slot(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                            bool exactly) const noexcept {
    const auto& offsets = by_length_[static_cast<std::size_t>(s)];
    char reading[kMaxPlateLen];
    for (std::uint32_t k = offsets[plate.size()]; k < offsets[plate.size() + 1]; ++k) {
        const Fit fit = read(plate, idx, patterns_[k], reading);
        if (fit != 0 && (!exactly || (fit & kExact) != 0)) return true;
    }
    return false;
}

bool FormatTable::resolve_slot(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                               Plate& out) const noexcept {
    const auto& offsets = by_length_[static_cast<std::size_t>(s)];
    const std::size_t n = plate.size();
    bool found = false;
    char reading[kMaxPlateLen] = {};  // zero tail: copied whole into the plate
    for (std::uint32_t k = offsets[n]; k < offsets[n + 1]; ++k) {
        const Fit fit = read(plate, idx, patterns_[k], reading);
        if (fit == 0) continue;
        if ((fit & kUnique) == 0) return false;
        if (!found) {
            std::memcpy(out.text, reading, sizeof out.text);
            found = true;
        } else if (!same_text(reading, out.text, n)) {
            return false;
        }
    }
    if (!found) return false;
    out.len = static_cast<std::uint8_t>(n);
    out.status = PlateStatus::ok;
    return true;
}

template <typename Take>
void FormatTable::each_reading(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                               Take&& take) const {
    const auto& offsets = by_length_[static_cast<std::size_t>(s)];
    const std::size_t n = plate.size();
    Plate reading;
    reading.len = static_cast<std::uint8_t>(n);
    reading.status = PlateStatus::ok;
    for (std::uint32_t k = offsets[n]; k < offsets[n + 1]; ++k) {
        const Fit fit = read(plate, idx, patterns_[k], reading.text);
        if ((fit & kUnique) != 0) take(reading);
    }
}

FormatTable::PlateJudgement FormatTable::judge(std::string_view plate) const noexcept {
    PlateJudgement j;
    j.canonical = plate_indices(plate, j.idx);
    j.bits = j.canonical && bit_sets_cover(plate.size());
    if (j.bits) j.verdicts = verdicts(plate.size(), j.idx);
    return j;
}

bool FormatTable::fits(std::string_view plate, Country c) const { return fits(plate, judge(plate), c, false); }

bool FormatTable::fits_exactly(std::string_view plate, Country c) const {
    return fits(plate, judge(plate), c, true);
}

bool FormatTable::fits(std::string_view plate, const PlateJudgement& judged, Country c, bool exactly) const {
    if (!judged.canonical) return false;
    if (judged.bits) {
        const std::uint64_t bits = exactly ? judged.verdicts.exact : judged.verdicts.fits;
        if (c == kUnknownCountry) return bits != 0;
        const int s = slot(c);
        return s >= 0 && (bits & country_bits(s, plate.size())) != 0;
    }
    if (c == kUnknownCountry) {
        for (std::size_t s = 0; s < countries_.size(); ++s) {
            if (fits_slot(plate, judged.idx, static_cast<int>(s), exactly)) return true;
        }
        return false;
    }
    const int s = slot(c);
    return s >= 0 && fits_slot(plate, judged.idx, s, exactly);
}

bool FormatTable::resolve(std::string_view plate, Country c, Plate& out) const {
    std::array<std::uint8_t, kMaxPlateLen> idx{};
    const int s = slot(c);
    if (s < 0 || !plate_indices(plate, idx)) return false;
    Plate reading;
    if (!resolve_slot(plate, idx, s, reading)) return false;
    out = reading;
    return true;
}

std::vector<Country> FormatTable::countries_fitting(std::string_view plate) const {
    std::vector<Country> found;
    std::array<std::uint8_t, kMaxPlateLen> idx{};
    if (!plate_indices(plate, idx)) return found;
    for (std::size_t s = 0; s < countries_.size(); ++s) {
        if (fits_slot(plate, idx, static_cast<int>(s), false)) found.push_back(countries_[s]);
    }
    return found;
}

void FormatTable::readings(std::string_view plate, Country c, std::vector<Plate>& out) const {
    std::array<std::uint8_t, kMaxPlateLen> idx{};
    const int s = slot(c);
    if (s < 0 || !plate_indices(plate, idx)) return;
    const std::size_t from = out.size();
    each_reading(plate, idx, s, [&out](const Plate& reading) { out.push_back(reading); });
    const auto first = out.begin() + static_cast<std::ptrdiff_t>(from);
    std::sort(first, out.end(), plate_less);
    out.erase(std::unique(first, out.end(), plate_equal), out.end());
}

void FormatTable::resolutions(std::string_view plate, Country c, std::vector<Resolution>& out) const {
    resolutions(plate, judge(plate), c, out);
}

void FormatTable::resolutions(std::string_view plate, const PlateJudgement& judged, Country c,
                              std::vector<Resolution>& out) const {
    if (!judged.canonical) return;
    const auto& idx = judged.idx;
    // Readings of one country are gathered in `out` itself, then sorted and deduplicated in
    // place: the matcher's scratch vector keeps its capacity, so nothing is allocated per read.
    const std::size_t n = plate.size();
    const bool bits = judged.bits;
    const Verdicts& v = judged.verdicts;
    auto try_slot = [&](int s) {
        // With the bit sets, a country that fits exactly or has no pattern with a single
        // reading is passed over without reading any pattern.
        if (bits && ((v.exact & country_bits(s, n)) != 0 || (v.unique & country_bits(s, n)) == 0)) return;
        const std::size_t from = out.size();
        const Country country = countries_[static_cast<std::size_t>(s)];
        // A format that reads the plate as itself is an exact fit: the country takes the plate
        // as it stands, and none of its readings is a resolution.
        bool as_read = false;
        each_reading(plate, idx, s, [&](const Plate& reading) {
            if (same_text(reading.text, plate.data(), plate.size())) as_read = true;
            if (as_read) return;
            Resolution r;
            r.country = country;
            r.reading = reading;
            out.push_back(r);
        });
        if (as_read) out.resize(from);
        if (out.size() - from < 2) return;
        const auto first = out.begin() + static_cast<std::ptrdiff_t>(from);
        std::sort(first, out.end(), reading_less);
        out.erase(std::unique(first, out.end(), reading_equal), out.end());
    };
    if (c != kUnknownCountry) {
        const int s = slot(c);
        if (s >= 0) try_slot(s);
        return;
    }
    for (std::size_t s = 0; s < countries_.size(); ++s) try_slot(static_cast<int>(s));
}

}  // namespace feblam
