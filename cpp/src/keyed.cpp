// Keyed hashes of short texts and the two-generation memory of read-id hashes.
#include "feblam/keyed.hpp"

#include "feblam/bytes.hpp"
#include "feblam/pack.hpp"

#include <algorithm>
#include <utility>

namespace feblam {

namespace {

// A bijective 64-bit finaliser: every input bit reaches every output bit.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 31;
    x *= 0x7FB5D329728EA185ull;
    x ^= x >> 27;
    x *= 0x81DADEF4BC2DD44Dull;
    x ^= x >> 33;
    return x;
}

// The 128-bit product of a and b, its halves folded together.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b) noexcept {
    __extension__ typedef unsigned __int128 wide;
    const wide r = static_cast<wide>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

// Successive keys drawn from a seed: a golden-ratio step, then the plate keys' mixer.
constexpr std::uint64_t splitmix(std::uint64_t& state) noexcept {
    state += 0x9E3779B97F4A7C15ull;
    return mix_key(state);
}

std::size_t table_size(std::size_t entries) {
    // At most half full, so probe runs stay short.
    std::size_t n = 16;
    while (n < entries * 2) n <<= 1;
    return n;
}

}  // namespace

HashKey::HashKey(std::uint64_t seed) noexcept : k0(0), k1(0) {
    std::uint64_t state = seed;
    k0 = splitmix(state);
    k1 = splitmix(state);
}

std::uint64_t keyed_hash(std::string_view text, const HashKey& key) noexcept {
    // Sixteen bytes per wide multiply: plates and read ids take one or two rounds. Tails are
    // loaded without a libc call: ids and plates are hashed four times a read on the intake path.
    const auto n = static_cast<std::uint64_t>(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    std::uint64_t h = key.k0 ^ (n * 0x9E3779B97F4A7C15ull);
    std::size_t i = 0;
    do {
        const std::size_t left = text.size() - i;
        const std::uint64_t a = load_word(s + i, left < 8 ? left : 8);
        const std::uint64_t b = left > 8 ? load_word(s + i + 8, left < 16 ? left - 8 : 8) : 0;
        h = fold(a ^ key.k1 ^ h, b ^ key.k0);
        i += 16;
    } while (i < text.size());
    return mix(fold(h ^ key.k1, n ^ key.k0 ^ 0xE7037ED1A0B428DBull));
}

bool ReadIdMemory::Table::contains(std::uint64_t h) const noexcept {
    if (slots.empty()) return false;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
        if (slots[i] == h) return true;
        if (slots[i] == 0) return false;
    }
}

bool ReadIdMemory::Table::insert(std::uint64_t h) noexcept {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
        if (slots[i] == h) return false;
        if (slots[i] == 0) {
            slots[i] = h;
            ++count;
            return true;
        }
    }
}

ReadIdMemory::ReadIdMemory(std::size_t capacity) : half_(capacity / 2 > 0 ? capacity / 2 : 1) {
    current_.slots.assign(table_size(half_), 0);
}

bool ReadIdMemory::contains(std::uint64_t h) const {
    if (h == 0) h = 1;  // zero marks empty slots
    const std::lock_guard<std::mutex> lock(mutex_);
    return current_.contains(h) || previous_.contains(h);
}

std::size_t ReadIdMemory::size() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return current_.count + previous_.count;
}

void ReadIdMemory::remember(const std::uint64_t* hashes, std::size_t n) {
    const std::lock_guard<std::mutex> lock(mutex_);
    prefetch(hashes, n);
    for (std::size_t i = 0; i < n; ++i) insert(hashes[i]);
}

void ReadIdMemory::prefetch(const std::uint64_t* hashes, std::size_t n) const noexcept {
    // The tables are far larger than the caches: asking for every slot first lets the misses
    // overlap instead of paying them one after another.
    for (const Table* t : {&current_, &previous_}) {
        if (t->slots.empty()) continue;
        const std::size_t mask = t->slots.size() - 1;
        for (std::size_t i = 0; i < n; ++i) {
            __builtin_prefetch(t->slots.data() + (static_cast<std::size_t>(hashes[i]) & mask));
        }
    }
}

void ReadIdMemory::find_duplicates(const std::uint64_t* hashes, std::size_t n, bool* out) const {
    Table batch;
    batch.slots.assign(table_size(n), 0);
    const std::lock_guard<std::mutex> lock(mutex_);
    prefetch(hashes, n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t h = hashes[i] == 0 ? 1 : hashes[i];
        const bool first = batch.insert(h);
        out[i] = !first || current_.contains(h) || previous_.contains(h);
    }
}

void ReadIdMemory::insert(std::uint64_t h) {
    if (h == 0) h = 1;
    current_.insert(h);
    if (current_.count >= half_) {
        // The new generation reuses the old one's storage rather than allocating.
        std::swap(previous_, current_);
        if (current_.slots.empty()) {
            current_.slots.assign(previous_.slots.size(), 0);
        } else {
            std::fill(current_.slots.begin(), current_.slots.end(), 0);
        }
        current_.count = 0;
    }
}

}  // namespace feblam
