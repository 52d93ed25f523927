// Blocked Bloom filter over 64-bit key hashes: the one-cache-line no-hit path of the exact index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace feblam {

// Each key sets one bit in each of the eight 32-bit words of one 32-byte block, so a probe reads
// a single block (never straddling a cache line) and needs no loop-carried branches. Immutable
// after build; concurrent probes are safe.
class BlockedBloomFilter {
public:
    BlockedBloomFilter() = default;
    // Sized for `expected_keys` at `bits_per_key` (at least one block).
    explicit BlockedBloomFilter(std::size_t expected_keys, double bits_per_key = 16.0);

    void insert(std::uint64_t hash) noexcept;
    bool may_contain(std::uint64_t hash) const noexcept;
    void prefetch(std::uint64_t hash) const noexcept;

    bool empty() const noexcept { return blocks_.empty(); }
    std::size_t block_count() const noexcept { return blocks_.size(); }
    std::size_t memory_bytes() const noexcept { return blocks_.size() * sizeof(Block); }

private:
    struct alignas(32) Block {
        std::uint32_t words[8];
    };
    static Block mask_of(std::uint64_t hash) noexcept;
    std::size_t block_of(std::uint64_t hash) const noexcept;

    std::vector<Block> blocks_;
};

}  // namespace feblam
