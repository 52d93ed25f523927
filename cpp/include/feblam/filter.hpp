// Blocked Bloom filter over 64-bit key hashes: the one-cache-line no-hit path of the exact index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "feblam/pack.hpp"

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
    // Inline: a read makes a dozen probes, and a call each costs as much as the bit tests.
    bool may_contain(std::uint64_t hash) const noexcept {
        if (blocks_.empty()) return false;
        const Block m = mask_of(hash);
        const Block& b = blocks_[block_of(hash)];
        std::uint32_t missing = 0;
        for (int i = 0; i < 8; ++i) missing |= m.words[i] & ~b.words[i];
        return missing == 0;
    }
    void prefetch(std::uint64_t hash) const noexcept {
        if (blocks_.empty()) return;
        __builtin_prefetch(&blocks_[block_of(hash)]);
    }

    bool empty() const noexcept { return blocks_.empty(); }
    std::size_t memory_bytes() const noexcept { return blocks_.size() * sizeof(Block); }

private:
    struct alignas(32) Block {
        std::uint32_t words[8];
    };
    // Odd multipliers spread the low 32 bits of a hash into one bit position per word.
    static constexpr std::uint32_t kSalts[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                                0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};
    static Block mask_of(std::uint64_t hash) noexcept {
        Block m{};
        const auto low = static_cast<std::uint32_t>(hash);
        for (int i = 0; i < 8; ++i) m.words[i] = 1U << ((low * kSalts[i]) >> 27);
        return m;
    }
    std::size_t block_of(std::uint64_t hash) const noexcept {
        return reduce_hash(hash, static_cast<std::uint32_t>(blocks_.size()));
    }

    std::vector<Block> blocks_;
};

}  // namespace feblam
