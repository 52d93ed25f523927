// Short byte strings read a word at a time: ids, plates and countries are a few to a few dozen
// bytes, and a memcpy of variable length is a call into libc the compiler cannot inline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace feblam {

// Bytes p[0..n) as a little-endian word, the high bytes zero (n <= 8), with fixed-size loads.
inline std::uint64_t load_word(const unsigned char* p, std::size_t n) noexcept {
    if (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    }
    if (n >= 4) {
        std::uint32_t lo;
        std::uint32_t hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        // The two loads overlap; each byte lands at its own position in both, so OR keeps it.
        return static_cast<std::uint64_t>(lo) | (static_cast<std::uint64_t>(hi) << (8 * (n - 4)));
    }
    if (n == 0) return 0;
    // One to three bytes: first, middle and last cover them all.
    return static_cast<std::uint64_t>(p[0]) |
           (static_cast<std::uint64_t>(p[n / 2]) << (8 * (n / 2))) |
           (static_cast<std::uint64_t>(p[n - 1]) << (8 * (n - 1)));
}

// Whether every byte of text is below 0x80, eight at a time.
inline bool is_ascii(std::string_view text) noexcept {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::uint64_t high = 0;
    std::size_t i = 0;
    for (; n - i >= 8; i += 8) high |= load_word(s + i, 8);
    high |= load_word(s + i, n - i);
    return (high & 0x8080808080808080ull) == 0;
}

}  // namespace feblam
