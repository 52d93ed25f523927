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

ReadIdMemory::ReadIdMemory(std::size_t capacity) : half_(capacity / 2 > 0 ? capacity / 2 : 1) {
    // Each generation at most half full, so probe runs rarely leave the home bucket.
    std::size_t n = 1;
    while (n * kSlots < half_ * 2) n <<= 1;
    buckets_.assign(n, Bucket{});
    mask_ = n - 1;
}

bool ReadIdMemory::holds(std::uint64_t h) const noexcept {
    // Each generation's run ends at its first empty slot; usually both end in the home bucket.
    bool open[2] = {true, true};
    for (std::size_t b = home(h);; b = (b + 1) & mask_) {
        const Bucket& bucket = buckets_[b];
        for (int g = 0; g < 2; ++g) {
            if (!open[g]) continue;
            for (int s = 0; s < kSlots; ++s) {
                const std::uint64_t v = bucket.slots[g][s];
                if (v == h) return true;
                if (v == 0) {
                    open[g] = false;
                    break;
                }
            }
        }
        if (!open[0] && !open[1]) return false;
    }
}

bool ReadIdMemory::contains(std::uint64_t h) const {
    if (h == 0) h = 1;  // zero marks empty slots
    const std::lock_guard<std::mutex> lock(mutex_);
    return holds(h);
}

std::size_t ReadIdMemory::size() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return count_[0] + count_[1];
}

void ReadIdMemory::remember(const std::uint64_t* hashes, std::size_t n) {
    const std::lock_guard<std::mutex> lock(mutex_);
    prefetch(hashes, n);
    for (std::size_t i = 0; i < n; ++i) insert(hashes[i]);
}

void ReadIdMemory::prefetch(const std::uint64_t* hashes, std::size_t n) const noexcept {
    // The table is far larger than the caches: asking for every bucket first lets the misses
    // overlap instead of paying them one after another.
    for (std::size_t i = 0; i < n; ++i) __builtin_prefetch(buckets_.data() + home(hashes[i]));
}

void ReadIdMemory::find_duplicates(const std::uint64_t* hashes, std::size_t n, bool* out) const {
    // Repeats within the batch: a small table of its own, at most half full.
    std::size_t size = 16;
    while (size < n * 2) size <<= 1;
    std::vector<std::uint64_t> batch(size, 0);
    const std::size_t batch_mask = size - 1;
    const auto first_in_batch = [&](std::uint64_t h) {
        for (std::size_t i = static_cast<std::size_t>(h) & batch_mask;; i = (i + 1) & batch_mask) {
            if (batch[i] == h) return false;
            if (batch[i] == 0) {
                batch[i] = h;
                return true;
            }
        }
    };
    const std::lock_guard<std::mutex> lock(mutex_);
    // A stretch ahead rather than the whole batch first: the early buckets were evicted again
    // before their turn.
    constexpr std::size_t kAhead = 32;
    prefetch(hashes, std::min(n, kAhead));
    for (std::size_t i = 0; i < n; ++i) {
        if (i + kAhead < n) __builtin_prefetch(buckets_.data() + home(hashes[i + kAhead]));
        const std::uint64_t h = hashes[i] == 0 ? 1 : hashes[i];
        out[i] = !first_in_batch(h) || holds(h);
    }
}

void ReadIdMemory::insert(std::uint64_t h) {
    if (h == 0) h = 1;
    for (std::size_t b = home(h);; b = (b + 1) & mask_) {
        std::uint64_t* slots = buckets_[b].slots[current_];
        for (int s = 0; s < kSlots; ++s) {
            if (slots[s] == h) return;
            if (slots[s] == 0) {
                slots[s] = h;
                if (++count_[current_] >= half_) {
                    // The older generation is dropped: its half of every bucket is emptied and
                    // takes the new ids from here on.
                    const int older = 1 - current_;
                    for (Bucket& bucket : buckets_) {
                        std::fill(bucket.slots[older], bucket.slots[older] + kSlots, 0);
                    }
                    count_[older] = 0;
                    current_ = older;
                }
                return;
            }
        }
    }
}

}  // namespace feblam
