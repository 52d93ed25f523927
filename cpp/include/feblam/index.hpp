// Immutable hash index from packed 64-bit keys to runs of entry ids, with a Bloom prefilter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "feblam/filter.hpp"
#include "feblam/pack.hpp"

namespace feblam {

// Layout: (hash, id) slots sorted by hash, and one offset per bucket. Buckets are ranges of the
// hash space, so a key's slots sit next to each other and a lookup reads one offset pair and a
// short run. A slot keeps its hash and id side by side, so a run costs one cache line, not one
// line of hashes and another of ids. About 12 bytes per pair, 2 per bucket and 2 for the filter.
// Safe to read from many threads.
//
// Besides whole lookups the index offers the steps of one (filter, bucket, run) separately, so a
// caller with many keys to look up can start the memory loads of every key's next step before
// waiting on any of them.
class KeyIndex {
    // The hash in two words keeps a slot at 12 bytes with 4-byte alignment.
    struct Slot {
        std::uint32_t lo;
        std::uint32_t hi;
        std::uint32_t id;
    };

public:
    // (key, id) pairs gathered for a build, already in the index's own 12-byte slot layout: the
    // build sorts them in place and keeps them, so a national list's index is built holding each
    // pair once, beside the version still serving.
    class Pairs {
    public:
        void reserve(std::size_t n) { slots_.reserve(n); }
        void add(std::uint64_t key, std::uint32_t id) {
            const std::uint64_t h = mix_key(key);
            slots_.push_back(Slot{static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(h >> 32), id});
        }
        std::size_t size() const noexcept { return slots_.size(); }

    private:
        friend class KeyIndex;
        std::vector<Slot> slots_;
    };

    // A run of slots [begin, end) that may hold a hash.
    struct Run {
        std::uint32_t begin = 0;
        std::uint32_t end = 0;
    };

    KeyIndex() = default;
    // (key, id) pairs in any order; duplicate pairs are kept once.
    static KeyIndex build(Pairs pairs);
    static KeyIndex build(const std::vector<std::pair<std::uint64_t, std::uint32_t>>& key_ids);

    // Calls emit(id) for every id stored under `key`, in ascending id order.
    template <class Emit>
    void lookup(std::uint64_t key, Emit&& emit) const {
        lookup_hash(mix_key(key), emit);
    }
    template <class Emit>
    void lookup_hash(std::uint64_t hash, Emit&& emit) const {
        if (!may_contain_hash(hash)) return;
        emit_run(hash, run_of(bucket_of(hash)), emit);
    }
    // True only when the key may be present (false positives at the filter's rate).
    bool may_contain_hash(std::uint64_t hash) const noexcept {
        return !slots_.empty() && filter_.may_contain(hash);
    }
    void prefetch_hash(std::uint64_t hash) const noexcept { filter_.prefetch(hash); }

    // The steps of lookup_hash, for callers that pipeline many keys: after may_contain_hash,
    // bucket_of and prefetch_bucket; then run_of and prefetch_run; then emit_run.
    std::uint32_t bucket_of(std::uint64_t hash) const noexcept {
        return reduce_hash(hash, bucket_count());
    }
    void prefetch_bucket(std::uint32_t bucket) const noexcept {
        __builtin_prefetch(&offsets_[bucket]);
        __builtin_prefetch(&offsets_[bucket + 1U]);
    }
    Run run_of(std::uint32_t bucket) const noexcept { return {offsets_[bucket], offsets_[bucket + 1U]}; }
    void prefetch_run(Run run) const noexcept {
        if (run.begin == run.end) return;
        __builtin_prefetch(&slots_[run.begin]);
        __builtin_prefetch(&slots_[run.end - 1U]);
    }
    template <class Emit>
    void emit_run(std::uint64_t hash, Run run, Emit&& emit) const {
        const auto lo = static_cast<std::uint32_t>(hash), hi = static_cast<std::uint32_t>(hash >> 32);
        for (std::uint32_t i = run.begin; i < run.end; ++i) {
            const Slot& s = slots_[i];
            if (s.hi > hi || (s.hi == hi && s.lo > lo)) break;
            if (s.hi == hi && s.lo == lo) emit(s.id);
        }
    }

    bool empty() const noexcept { return slots_.empty(); }
    std::size_t size() const noexcept { return slots_.size(); }
    std::size_t memory_bytes() const noexcept;

private:
    std::uint32_t bucket_count() const noexcept {
        return static_cast<std::uint32_t>(offsets_.size() - 1);
    }

    BlockedBloomFilter filter_;
    std::vector<std::uint32_t> offsets_;
    std::vector<Slot> slots_;
};

}  // namespace feblam
