// Raw OCR text to canonical A-Z0-9 plates (rules in docs/core.md, "Canonical plates").
#pragma once

#include <string_view>

#include "feblam/plate.hpp"

namespace feblam {

// Never throws; a failure is a status and an empty plate. Input is UTF-8.
Plate normalise_plate(std::string_view utf8) noexcept;

// As normalise_plate, but keeps '?' and '*' for witness partial plates.
Plate normalise_pattern(std::string_view utf8) noexcept;

}  // namespace feblam
