// Immutable hash index from packed 64-bit keys to runs of entry ids, with a Bloom prefilter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "feblam/filter.hpp"
#include "feblam/pack.hpp"

namespace feblam {

// Layout: the (hash, id) pairs sorted by hash, and one offset per bucket. Buckets are ranges of
// the hash space, so a key's pairs sit next to each other and a lookup reads one offset pair and
// a short run. About 12 bytes per pair, 2 per bucket and 2 for the filter. Safe to read from
// many threads.
class KeyIndex {
public:
    KeyIndex() = default;
    // (key, id) pairs in any order; duplicate pairs are kept once.
    static KeyIndex build(std::vector<std::pair<std::uint64_t, std::uint32_t>> key_ids);

    // Calls emit(id) for every id stored under `key`, in ascending id order.
    template <class Emit>
    void lookup(std::uint64_t key, Emit&& emit) const {
        lookup_hash(mix_key(key), emit);
    }
    template <class Emit>
    void lookup_hash(std::uint64_t hash, Emit&& emit) const {
        if (hashes_.empty() || !filter_.may_contain(hash)) return;
        std::uint32_t b = reduce_hash(hash, bucket_count());
        for (std::uint32_t i = offsets_[b], end = offsets_[b + 1]; i < end; ++i) {
            if (hashes_[i] > hash) break;
            if (hashes_[i] == hash) emit(ids_[i]);
        }
    }
    // True only when the key may be present (false positives at the filter's rate).
    bool may_contain_hash(std::uint64_t hash) const noexcept {
        return !hashes_.empty() && filter_.may_contain(hash);
    }
    void prefetch_hash(std::uint64_t hash) const noexcept { filter_.prefetch(hash); }

    bool empty() const noexcept { return hashes_.empty(); }
    std::size_t size() const noexcept { return hashes_.size(); }
    std::size_t memory_bytes() const noexcept;

private:
    std::uint32_t bucket_count() const noexcept {
        return static_cast<std::uint32_t>(offsets_.size() - 1);
    }

    BlockedBloomFilter filter_;
    std::vector<std::uint32_t> offsets_;
    std::vector<std::uint64_t> hashes_;
    std::vector<std::uint32_t> ids_;
};

}  // namespace feblam
