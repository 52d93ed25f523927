// Blocked Bloom filter: sizing, inserts and probes.
#include "feblam/filter.hpp"

#include <cmath>

#include "feblam/pack.hpp"

namespace feblam {

namespace {
// Odd multipliers spread the low 32 bits of a hash into one bit position per word.
constexpr std::uint32_t kSalts[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                     0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};
}  // namespace

BlockedBloomFilter::BlockedBloomFilter(std::size_t expected_keys, double bits_per_key) {
    double bits = std::ceil(static_cast<double>(expected_keys) * bits_per_key);
    auto blocks = static_cast<std::size_t>(bits / 256.0) + 1;
    blocks_.assign(blocks, Block{});
}

BlockedBloomFilter::Block BlockedBloomFilter::mask_of(std::uint64_t hash) noexcept {
    Block m{};
    auto low = static_cast<std::uint32_t>(hash);
    for (int i = 0; i < 8; ++i) {
        m.words[i] = 1U << ((low * kSalts[i]) >> 27);
    }
    return m;
}

std::size_t BlockedBloomFilter::block_of(std::uint64_t hash) const noexcept {
    return reduce_hash(hash, static_cast<std::uint32_t>(blocks_.size()));
}

void BlockedBloomFilter::insert(std::uint64_t hash) noexcept {
    if (blocks_.empty()) return;
    Block m = mask_of(hash);
    Block& b = blocks_[block_of(hash)];
    for (int i = 0; i < 8; ++i) b.words[i] |= m.words[i];
}

bool BlockedBloomFilter::may_contain(std::uint64_t hash) const noexcept {
    if (blocks_.empty()) return false;
    Block m = mask_of(hash);
    const Block& b = blocks_[block_of(hash)];
    std::uint32_t missing = 0;
    for (int i = 0; i < 8; ++i) missing |= m.words[i] & ~b.words[i];
    return missing == 0;
}

void BlockedBloomFilter::prefetch(std::uint64_t hash) const noexcept {
    if (blocks_.empty()) return;
    __builtin_prefetch(&blocks_[block_of(hash)]);
}

}  // namespace feblam
