// National plate formats as data: fit checks and position-wise resolution of confusables.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "feblam/confusion.hpp"
#include "feblam/plate.hpp"

namespace feblam {

// One unambiguous reading of a plate under one country's formats.
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
    bool fits(std::string_view plate, Country c) const;
    // Fits without reading any confusable otherwise; c unknown means "some country" (docs/core.md).
    bool fits_exactly(std::string_view plate, Country c) const;
    // The unique reading of `plate` under c's formats, if there is one (docs/core.md).
    bool resolve(std::string_view plate, Country c, Plate& out) const;
    // Countries whose formats fit `plate`, sorted by packed code.
    std::vector<Country> countries_fitting(std::string_view plate) const;
    // Countries that have formats, sorted by packed code.
    const std::vector<Country>& countries() const noexcept;

    // For matching: every resolution r of `plate` with r != plate, for country c, or for every
    // country with formats when c is unknown. Appends to `out`.
    void resolutions(std::string_view plate, Country c, std::vector<Resolution>& out) const;

private:
    ConfusionClasses classes_;
    std::vector<Country> countries_;
};

}  // namespace feblam
