// Keyed 64-bit hashes of short texts (plates, read ids) and the bounded memory of seen read ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace feblam {

// Two 64-bit key words drawn from one secret seed.
struct HashKey {
    std::uint64_t k0;
    std::uint64_t k1;
    explicit HashKey(std::uint64_t seed) noexcept;
};

// A keyed hash: without the key, hashing every plate does not reveal which plate gave a hash.
std::uint64_t keyed_hash(std::string_view text, const HashKey& key) noexcept;

// Read-id hashes accepted lately, bounded: two generations, the older dropped when the newer
// holds half the capacity. Open addressing keeps it one flat array whatever its size. The batch
// operations lock: the intake worker looks batches up while earlier batches are remembered.
class ReadIdMemory {
public:
    explicit ReadIdMemory(std::size_t capacity);
    bool contains(std::uint64_t h) const;
    // out[i]: hashes[i] is remembered, or occurs earlier in hashes (the first one counts as new).
    void find_duplicates(const std::uint64_t* hashes, std::size_t n, bool* out) const;
    void remember(const std::uint64_t* hashes, std::size_t n);
    std::size_t size() const;

private:
    static constexpr int kSlots = 4;  // per generation and bucket
    // One cache line: four slots of each generation. A national memory is far larger than the
    // caches, and a lookup must ask both generations: side by side, that is one miss, where a
    // table per generation cost two. 0 marks an empty slot; a bucket's slots fill in order.
    struct alignas(64) Bucket {
        std::uint64_t slots[2][kSlots];
    };
    std::size_t home(std::uint64_t h) const noexcept { return static_cast<std::size_t>(h) & mask_; }
    // Brings the buckets of these hashes towards the cache before a batch of lookups or inserts.
    void prefetch(const std::uint64_t* hashes, std::size_t n) const noexcept;
    bool holds(std::uint64_t h) const noexcept;  // in either generation
    void insert(std::uint64_t h);

    mutable std::mutex mutex_;
    std::size_t half_;
    std::vector<Bucket> buckets_;
    std::size_t mask_;
    int current_ = 0;                   // the newer generation's half of each bucket
    std::size_t count_[2] = {0, 0};     // by half
};

}  // namespace feblam
