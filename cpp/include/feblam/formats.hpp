// National plate formats as data: fit checks and position-wise resolution of confusables.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "feblam/confusion.hpp"
#include "feblam/plate.hpp"

namespace feblam {

// A reading of a plate that one of a country's formats leaves no choice in.
struct Resolution {
    Country country = kUnknownCountry;
    Plate reading;
};

class FormatTable {
public:
    // Parses feblam/data/plate_formats.txt syntax; throws std::invalid_argument naming the line.
    FormatTable(std::string_view spec, const ConfusionClasses& classes);

    // Applies aliases ("B" -> "BE") to a packed country.
    Country canonical_country(Country c) const noexcept;
    // True when c (after aliases) has formats; the near-match gate only judges such countries.
    bool has_formats(Country c) const noexcept { return slot(c) >= 0; }
    // c unknown means "some country". A plate that is not canonical fits nothing and resolves to
    // nothing; so does every plate for a country without formats.
    bool fits(std::string_view plate, Country c) const;
    // Fits without reading any confusable otherwise; c unknown means "some country" (docs/core.md).
    bool fits_exactly(std::string_view plate, Country c) const;
    // The unique reading of `plate` under c's formats, if there is one (docs/core.md).
    bool resolve(std::string_view plate, Country c, Plate& out) const;
    // Sorted distinct readings of the fitting formats of c that leave no choice (docs/core.md);
    // none when c is unknown. Appends to `out`.
    void readings(std::string_view plate, Country c, std::vector<Plate>& out) const;
    // Countries whose formats fit `plate`, sorted by packed code.
    std::vector<Country> countries_fitting(std::string_view plate) const;
    // Countries that have formats, sorted by packed code.
    const std::vector<Country>& countries() const noexcept;

    // For matching: the readings of `plate` under country c, or under every country with formats
    // when c is unknown, country by country, leaving out countries that fit `plate` exactly.
    // Appends to `out`.
    void resolutions(std::string_view plate, Country c, std::vector<Resolution>& out) const;

    // Every read asks whether its plate fits its country, exactly or not: answered for all
    // patterns of the plate's length at once, one AND of bit sets per position, instead of
    // pattern by pattern. Bit j of a length's sets is its j-th pattern (at most 64 a length;
    // a length with more falls back to the pattern loop).
    struct Verdicts {
        std::uint64_t fits = 0;    // patterns with an option at every position
        std::uint64_t unique = 0;  // ... and exactly one at every position
        std::uint64_t exact = 0;   // ... and that one the plate's own character
    };
    // What the formats make of one plate, worked out once (its character indices and, where
    // bit sets cover its length, every pattern's verdict) and then asked about country by
    // country: a read asks up to four questions of the same plate.
    struct PlateJudgement {
        bool canonical = false;  // A-Z0-9 of a plate's length: anything else fits nothing
        bool bits = false;       // verdicts hold (the length is covered by bit sets)
        std::array<std::uint8_t, kMaxPlateLen> idx{};
        Verdicts verdicts;
    };
    PlateJudgement judge(std::string_view plate) const noexcept;
    bool fits(std::string_view plate, const PlateJudgement& judged, Country c, bool exactly) const;
    void resolutions(std::string_view plate, const PlateJudgement& judged, Country c,
                     std::vector<Resolution>& out) const;

private:
    // Packed countries are 15 bits; tables indexed by them answer alias and format lookups in O(1).
    static constexpr std::size_t kCountrySpace = std::size_t{1} << 15;
    // Index of a character in the option table: A-Z then 0-9; kNoChar for anything else.
    static constexpr std::uint8_t kNoChar = 36;
    static constexpr std::size_t kCharSlots = 37;

    // One fixed-length expansion: per position, the id of its allowed character set.
    struct Pattern {
        std::array<std::uint8_t, kMaxPlateLen> set{};
    };
    // How one pattern reads one plate: 0 (no fit) or kFits with kUnique and kExact as they hold.
    using Fit = std::uint8_t;
    static constexpr Fit kFits = 1, kUnique = 2, kExact = 4;

    int slot(Country c) const noexcept;
    bool plate_indices(std::string_view plate, std::array<std::uint8_t, kMaxPlateLen>& idx) const noexcept;
    Fit read(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx,
             const Pattern& p, char* reading) const noexcept;
    bool fits_slot(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                   bool exactly) const noexcept;
    bool resolve_slot(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                      Plate& out) const noexcept;
    // Calls take(reading) for each fitting pattern of slot s that leaves no choice, in pattern
    // order (repeats possible).
    template <typename Take>
    void each_reading(std::string_view plate, const std::array<std::uint8_t, kMaxPlateLen>& idx, int s,
                      Take&& take) const;

    void build_bit_sets();
    bool bit_sets_cover(std::size_t len) const noexcept { return bits_ready_[len]; }
    Verdicts verdicts(std::size_t len, const std::array<std::uint8_t, kMaxPlateLen>& idx) const noexcept;
    std::uint64_t country_bits(int s, std::size_t len) const noexcept { return country_bits_[static_cast<std::size_t>(s)][len]; }
    std::size_t bit_index(std::size_t len, std::size_t pos, std::size_t ch) const noexcept {
        return (len * kMaxPlateLen + pos) * kCharSlots + ch;
    }

    std::vector<Country> countries_;
    // Patterns of country slot s and length n: patterns_[by_length_[s][n] .. by_length_[s][n + 1]).
    std::vector<Pattern> patterns_;
    std::vector<std::array<std::uint32_t, kMaxPlateLen + 2>> by_length_;
    // Per character set id and character: 0 no option, 1 several options, else the one option.
    std::vector<std::uint8_t> options_;
    // Per length: whether bit sets answer it; per length, position and character: the Verdicts
    // bits; per country slot and length: the bits of its patterns.
    std::array<bool, kMaxPlateLen + 1> bits_ready_{};
    std::vector<std::uint64_t> fit_bits_, unique_bits_, exact_bits_;
    std::vector<std::array<std::uint64_t, kMaxPlateLen + 1>> country_bits_;
    std::vector<Country> canonical_;     // packed country -> country with aliases applied
    std::vector<std::int16_t> slot_of_;  // packed country (aliases applied) -> slot, -1 none
};

}  // namespace feblam
