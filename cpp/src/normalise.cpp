// Placeholder ASCII-only normaliser; the full Unicode folding replaces it.
#include "feblam/normalise.hpp"

namespace feblam {

namespace {
Plate fold(std::string_view raw, bool keep_wildcards) noexcept {
    Plate p;
    bool any_visible = false;
    for (char ch : raw) {
        auto u = static_cast<unsigned char>(ch);
        if (u >= 0x80) { p.len = 0; p.status = PlateStatus::invalid_character; return p; }
        if (u < 0x20 || u == 0x7f) { p.len = 0; p.status = PlateStatus::control_character; return p; }
        if (ch != ' ') any_visible = true;
        char up = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
        bool keep = (up >= 'A' && up <= 'Z') || (up >= '0' && up <= '9') ||
                    (keep_wildcards && (up == '?' || up == '*'));
        if (!keep) continue;
        if (p.len == kMaxPlateLen) { p.len = 0; p.status = PlateStatus::too_long; return p; }
        p.text[p.len++] = up;
    }
    if (p.len == 0) { p.status = any_visible ? PlateStatus::nothing_left : PlateStatus::empty; return p; }
    p.status = PlateStatus::ok;
    return p;
}
}  // namespace

Plate normalise_plate(std::string_view utf8) noexcept { return fold(utf8, false); }
Plate normalise_pattern(std::string_view utf8) noexcept { return fold(utf8, true); }

}  // namespace feblam
