// Blocked Bloom filter: sizing and inserts (probes are inline in the header).
#include "feblam/filter.hpp"

#include <cmath>

namespace feblam {

BlockedBloomFilter::BlockedBloomFilter(std::size_t expected_keys, double bits_per_key) {
    double bits = std::ceil(static_cast<double>(expected_keys) * bits_per_key);
    auto blocks = static_cast<std::size_t>(bits / 256.0) + 1;
    blocks_.assign(blocks, Block{});
}

void BlockedBloomFilter::insert(std::uint64_t hash) noexcept {
    if (blocks_.empty()) return;
    Block m = mask_of(hash);
    Block& b = blocks_[block_of(hash)];
    for (int i = 0; i < 8; ++i) b.words[i] |= m.words[i];
}

}  // namespace feblam
