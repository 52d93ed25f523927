// Country packing shared by reads and entries.
#include "feblam/plate.hpp"

namespace feblam {

Country pack_country(std::string_view text) noexcept {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.empty() || text.size() > 3) return kUnknownCountry;
    unsigned packed = 0;
    for (char ch : text) {
        char up = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
        if (up < 'A' || up > 'Z') return kUnknownCountry;
        packed = (packed << 5) | static_cast<unsigned>(up - 'A' + 1);
    }
    return static_cast<Country>(packed);
}

std::string country_text(Country c) {
    std::string out;
    while (c != 0) {
        out.insert(out.begin(), static_cast<char>('A' + (c & 31U) - 1));
        c = static_cast<Country>(c >> 5);
    }
    return out;
}

}  // namespace feblam
