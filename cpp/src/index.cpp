// Building the key index: hash, sort, bucket offsets, filter.
#include "feblam/index.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace feblam {

namespace {
// Two pairs per bucket on average keeps offsets at 2 bytes a pair and runs short.
constexpr std::size_t kPairsPerBucket = 2;

// Sorts (hash, id) pairs in place: lexicographic order keeps ids ascending within a hash.
// In place rather than a radix pass with a scratch copy, because a national list's build runs
// beside the serving version and its memory peak is what a swap costs.
void sort_pairs(std::vector<std::pair<std::uint64_t, std::uint32_t>>& pairs) {
    std::sort(pairs.begin(), pairs.end());
}
}  // namespace

KeyIndex KeyIndex::build(std::vector<std::pair<std::uint64_t, std::uint32_t>> key_ids) {
    if (key_ids.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("key index: too many keys");
    }
    for (auto& p : key_ids) p.first = mix_key(p.first);
    sort_pairs(key_ids);
    key_ids.erase(std::unique(key_ids.begin(), key_ids.end()), key_ids.end());

    KeyIndex index;
    const std::size_t n = key_ids.size();
    if (n == 0) return index;
    const auto buckets = static_cast<std::uint32_t>(n / kPairsPerBucket + 1);
    index.offsets_.assign(static_cast<std::size_t>(buckets) + 1, 0);
    index.slots_.resize(n);
    index.filter_ = BlockedBloomFilter(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t h = key_ids[i].first;
        index.slots_[i] = Slot{static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(h >> 32),
                               key_ids[i].second};
        ++index.offsets_[reduce_hash(key_ids[i].first, buckets) + 1U];
        index.filter_.insert(key_ids[i].first);
    }
    for (std::size_t b = 1; b < index.offsets_.size(); ++b) index.offsets_[b] += index.offsets_[b - 1];
    return index;
}

std::size_t KeyIndex::memory_bytes() const noexcept {
    return filter_.memory_bytes() + offsets_.size() * sizeof(std::uint32_t) +
           slots_.size() * sizeof(Slot);
}

}  // namespace feblam
