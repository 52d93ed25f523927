// Building the key index: hash, sort, bucket offsets, filter.
#include "feblam/index.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace feblam {

namespace {
// Two pairs per bucket on average keeps offsets at 2 bytes a pair and runs short.
constexpr std::size_t kPairsPerBucket = 2;

}  // namespace

KeyIndex KeyIndex::build(const std::vector<std::pair<std::uint64_t, std::uint32_t>>& key_ids) {
    Pairs pairs;
    pairs.reserve(key_ids.size());
    for (const auto& [key, id] : key_ids) pairs.add(key, id);
    return build(std::move(pairs));
}

KeyIndex KeyIndex::build(Pairs pairs) {
    std::vector<Slot>& slots = pairs.slots_;
    if (slots.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("key index: too many keys");
    }
    // Hash order, ids ascending within a hash: lookups emit a key's ids in order.
    auto order = [](const Slot& a, const Slot& b) {
        if (a.hi != b.hi) return a.hi < b.hi;
        if (a.lo != b.lo) return a.lo < b.lo;
        return a.id < b.id;
    };
    auto same = [](const Slot& a, const Slot& b) { return a.hi == b.hi && a.lo == b.lo && a.id == b.id; };
    std::sort(slots.begin(), slots.end(), order);
    slots.erase(std::unique(slots.begin(), slots.end(), same), slots.end());

    KeyIndex index;
    const std::size_t n = slots.size();
    if (n == 0) return index;
    const auto buckets = static_cast<std::uint32_t>(n / kPairsPerBucket + 1);
    index.offsets_.assign(static_cast<std::size_t>(buckets) + 1, 0);
    index.filter_ = BlockedBloomFilter(n);
    for (const Slot& s : slots) {
        const std::uint64_t h = (static_cast<std::uint64_t>(s.hi) << 32) | s.lo;
        ++index.offsets_[reduce_hash(h, buckets) + 1U];
        index.filter_.insert(h);
    }
    for (std::size_t b = 1; b < index.offsets_.size(); ++b) index.offsets_[b] += index.offsets_[b - 1];
    // Room reserved for a guess of the pair count is given back only when the guess was far off:
    // shrinking copies the slots.
    if (slots.capacity() > n + n / 4) slots.shrink_to_fit();
    index.slots_ = std::move(slots);
    return index;
}

std::size_t KeyIndex::memory_bytes() const noexcept {
    return filter_.memory_bytes() + offsets_.size() * sizeof(std::uint32_t) +
           slots_.size() * sizeof(Slot);
}

}  // namespace feblam
