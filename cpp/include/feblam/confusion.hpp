// OCR confusion classes: which characters a reader mistakes for one another.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace feblam {

inline constexpr std::string_view kDefaultConfusionClasses = "0ODQ 1IL 2Z 5S 8B 6G";

class ConfusionClasses {
public:
    // Groups separated by white space, e.g. "0ODQ 1IL"; throws std::invalid_argument when a
    // character is not A-Z0-9 or appears in two groups.
    explicit ConfusionClasses(std::string_view spec = kDefaultConfusionClasses);

    // First character of c's group, or c itself when c is in no group.
    char representative(char c) const noexcept {
        return rep_[static_cast<unsigned char>(c)];
    }
    // Every member of c's group, c included ("c" alone when c is in no group).
    std::string_view members(char c) const noexcept;
    const std::string& spec() const noexcept { return spec_; }

private:
    std::string spec_;
    std::array<char, 256> rep_{};
    std::array<std::string, 256> members_{};
};

}  // namespace feblam
