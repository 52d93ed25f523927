// Lossless 64-bit keys for canonical plates and the hash that spreads them over index buckets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace feblam {

// 6 bits per character, first character in the low bits; code 0 ends the plate, so the empty
// string packs to 0 and every non-empty plate to a non-zero key. Ten characters use 60 bits.
inline constexpr unsigned kBitsPerChar = 6;

// '0'-'9' -> 1..10, 'A'-'Z' -> 11..36, anything else -> 0 (not a plate character).
inline constexpr std::uint64_t plate_char_code(char c) noexcept {
    if (c >= '0' && c <= '9') return static_cast<std::uint64_t>(c - '0') + 1U;
    if (c >= 'A' && c <= 'Z') return static_cast<std::uint64_t>(c - 'A') + 11U;
    return 0;
}

inline constexpr char plate_char_from_code(std::uint64_t code) noexcept {
    if (code >= 1 && code <= 10) return static_cast<char>('0' + static_cast<int>(code - 1));
    if (code >= 11 && code <= 36) return static_cast<char>('A' + static_cast<int>(code - 11));
    return '\0';
}

// plate_char_code of every byte, looked up rather than worked out: packing runs for every read
// and every reading a format resolves.
struct PlateCharCodes {
    std::uint8_t code[256] = {};
    constexpr PlateCharCodes() {
        for (int b = 0; b < 256; ++b) {
            code[b] = static_cast<std::uint8_t>(plate_char_code(static_cast<char>(b)));
        }
    }
};
inline constexpr PlateCharCodes kPlateCharCodes{};

// Callers pass canonical text of at most kMaxPlateLen characters; longer text would overflow.
inline std::uint64_t pack_plate(std::string_view canonical) noexcept {
    std::uint64_t key = 0;
    unsigned shift = 0;
    for (char c : canonical) {
        key |= std::uint64_t{kPlateCharCodes.code[static_cast<unsigned char>(c)]} << shift;
        shift += kBitsPerChar;
    }
    return key;
}

// Characters in a packed key (0 for the empty key): codes are never 0, so the highest set bit
// is in the last character's cell.
inline std::size_t packed_length(std::uint64_t key) noexcept {
    if (key == 0) return 0;
    return (64U - static_cast<unsigned>(__builtin_clzll(key)) + kBitsPerChar - 1U) / kBitsPerChar;
}

// Writes the characters of `key` to `out` (room for kMaxPlateLen) and returns how many.
inline std::size_t unpack_plate(std::uint64_t key, char* out) noexcept {
    std::size_t n = 0;
    while (key != 0) {
        out[n++] = plate_char_from_code(key & 63U);
        key >>= kBitsPerChar;
    }
    return n;
}

inline std::string unpack_plate(std::uint64_t key) {
    char buf[16];
    return std::string(buf, unpack_plate(key, buf));
}

// A bijective 64-bit mixer: equal hashes mean equal keys, so indexes may store the hash alone.
inline constexpr std::uint64_t mix_key(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Maps the high 32 bits of a hash onto [0, n) without division; monotone in the hash, so
// sorting by hash also sorts by bucket.
inline constexpr std::uint32_t reduce_hash(std::uint64_t hash, std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((hash >> 32) * static_cast<std::uint64_t>(n)) >> 32);
}

}  // namespace feblam
