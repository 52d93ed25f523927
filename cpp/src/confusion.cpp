// OCR confusion classes parsed from their one-line text form.
#include "feblam/confusion.hpp"

#include <stdexcept>

namespace feblam {

namespace {
bool is_plate_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

ConfusionClasses::ConfusionClasses(std::string_view spec) : spec_(spec) {
    for (std::size_t i = 0; i < rep_.size(); ++i) {
        rep_[i] = static_cast<char>(i);
        members_[i] = std::string(1, static_cast<char>(i));
    }
    std::array<bool, 256> seen{};
    std::size_t pos = 0;
    while (pos < spec.size()) {
        while (pos < spec.size() && (spec[pos] == ' ' || spec[pos] == '\t' || spec[pos] == '\n')) ++pos;
        std::size_t end = pos;
        while (end < spec.size() && spec[end] != ' ' && spec[end] != '\t' && spec[end] != '\n') ++end;
        if (end == pos) break;
        std::string group(spec.substr(pos, end - pos));
        for (char c : group) {
            if (!is_plate_char(c)) {
                throw std::invalid_argument("confusion classes: '" + std::string(1, c) +
                                            "' is not A-Z or 0-9");
            }
            auto u = static_cast<unsigned char>(c);
            if (seen[u]) {
                throw std::invalid_argument("confusion classes: '" + std::string(1, c) +
                                            "' appears in two groups");
            }
            seen[u] = true;
            rep_[u] = group.front();
            members_[u] = group;
        }
        pos = end;
    }
}

std::string_view ConfusionClasses::members(char c) const noexcept {
    return members_[static_cast<unsigned char>(c)];
}

}  // namespace feblam
