// Placeholder format table: knows no formats yet; the data-driven parser replaces it.
#include "feblam/formats.hpp"

namespace feblam {

FormatTable::FormatTable(std::string_view, const ConfusionClasses& classes) : classes_(classes) {}

Country FormatTable::canonical_country(Country c) const noexcept { return c; }
bool FormatTable::fits(std::string_view, Country) const { return false; }
bool FormatTable::fits_exactly(std::string_view, Country) const { return false; }
bool FormatTable::resolve(std::string_view, Country, Plate&) const { return false; }
std::vector<Country> FormatTable::countries_fitting(std::string_view) const { return {}; }
const std::vector<Country>& FormatTable::countries() const noexcept { return countries_; }
void FormatTable::resolutions(std::string_view, Country, std::vector<Resolution>&) const {}

}  // namespace feblam
