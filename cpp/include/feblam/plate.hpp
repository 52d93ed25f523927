// Canonical plates: the fixed-size value every part of the core passes around.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace feblam {

// Longest canonical plate. Ten characters of A-Z0-9 pack into 60 bits (see pack.hpp).
inline constexpr int kMaxPlateLen = 10;
// Raw OCR text longer than this is refused before any folding work.
inline constexpr int kMaxRawCodepoints = 64;

enum class PlateStatus : std::uint8_t {
    ok = 0,
    empty = 1,
    control_character = 2,
    too_long = 3,
    nothing_left = 4,
    invalid_character = 5,
    invalid_utf8 = 6,
};

// A canonical plate (or a partial-plate pattern holding '?' and '*') and how normalising went.
struct Plate {
    char text[kMaxPlateLen] = {};
    std::uint8_t len = 0;
    PlateStatus status = PlateStatus::empty;

    std::string_view view() const noexcept { return {text, len}; }
    bool ok() const noexcept { return status == PlateStatus::ok; }
};

// Country of a read or an entry: 1-3 upper-case letters packed 5 bits each; 0 is unknown.
using Country = std::uint16_t;
inline constexpr Country kUnknownCountry = 0;

// Packs "BE" style text; anything that is not 1-3 ASCII letters (after trimming spaces and
// upper-casing) is unknown. Aliases are applied by FormatTable::canonical_country.
Country pack_country(std::string_view text) noexcept;
// The letters of a packed country ("" for unknown).
std::string country_text(Country c);

inline bool countries_compatible(Country a, Country b) noexcept {
    return a == kUnknownCountry || b == kUnknownCountry || a == b;
}

}  // namespace feblam
