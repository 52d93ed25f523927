// Reading a ReadBatch into the engine's columns (intake.hpp).
#include "feblam/intake.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "feblam/normalise.hpp"

namespace feblam {

WireError read_intake(std::string_view bytes, const IntakeRules& rules, IntakeColumns& out) {
    const WireError error = read_batch(bytes, out.batch);
    if (error != WireError::none) return error;
    const std::vector<WireRead>& reads = out.batch.reads;
    const std::size_t n = reads.size();
    out.country_width = 1;
    for (const WireRead& r : reads) {
        const std::size_t size = r.country.size();
        if (size > out.country_width && size <= kMaxCountryBytes) out.country_width = size;
    }
    out.canonical.assign(n * kMaxPlateLen, '\0');
    out.country.assign(n * out.country_width, '\0');
    out.observed_us.resize(n);
    out.confidence.resize(n);
    out.confidence64.resize(n);
    out.plate_status.resize(n);
    out.problem.resize(n);
    out.plate_hash.resize(n);
    out.ocr_hash.resize(n);
    out.read_id_hash.resize(n);
    out.camera_hash.resize(n);
    out.problems = 0;
    out.newest_ok_us = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = 0; i < n; ++i) {
        const WireRead& r = reads[i];
        out.observed_us[i] = r.observed_us;
        // An absent confidence means "fully confident"; a present 0.0 stays 0.0.
        const float q = r.has_confidence ? r.confidence : 1.0f;
        out.confidence[i] = q;
        out.confidence64[i] = static_cast<double>(q);
        const Plate p = normalise_plate(r.raw_plate);
        // The plate's unused tail is zero, so a fixed-size copy (no call) writes the same cells.
        std::memcpy(out.canonical.data() + i * kMaxPlateLen, p.text, sizeof p.text);
        out.plate_status[i] = static_cast<std::uint8_t>(p.status);
        out.plate_hash[i] = keyed_hash(std::string_view(p.text, p.len), rules.plate_key);
        // The OCR key folds confusable characters onto one; it is hashed, never kept.
        char folded[kMaxPlateLen];
        for (std::size_t k = 0; k < p.len; ++k) {
            folded[k] = static_cast<char>(rules.ocr[static_cast<unsigned char>(p.text[k])]);
        }
        out.ocr_hash[i] = keyed_hash(std::string_view(folded, p.len), rules.plate_key);
        auto worst = static_cast<std::uint8_t>(p.status);
        // Written so that NaN fails it, as it fails both comparisons.
        if (!(q >= 0.0f && q <= 1.0f)) worst = kConfidenceOutOfRange;
        if (r.observed_us < rules.min_observed_us || r.observed_us > rules.max_observed_us) {
            worst = kTimeOutOfRange;
        }
        if (r.camera_id.empty()) worst = kMissingCamera;
        if (r.read_id.empty()) worst = kMissingReadId;
        if (r.country.size() > kMaxCountryBytes) worst = kCountryTooLong;
        if (r.camera_id.size() > kMaxCameraIdBytes) worst = kCameraIdTooLong;
        if (r.read_id.size() > kMaxReadIdBytes) worst = kReadIdTooLong;
        if (r.end - r.begin > kMaxReadBytes) worst = kReadTooLarge;
        out.problem[i] = worst;
        if (worst != 0) {
            ++out.problems;
        } else if (r.observed_us > out.newest_ok_us) {
            out.newest_ok_us = r.observed_us;
        }
        // An absent country is an empty view without a buffer: memcpy must not see its null.
        if (!r.country.empty() && r.country.size() <= kMaxCountryBytes) {
            std::memcpy(out.country.data() + i * out.country_width, r.country.data(),
                        r.country.size());
        }
        out.read_id_hash[i] = keyed_hash(r.read_id, rules.id_key) ^ rules.read_scope;
        out.camera_hash[i] = keyed_hash(r.camera_id, rules.id_key);
    }
    return WireError::none;
}

void screen_intake(const IntakeScreen& screen, IntakeColumns& c) {
    const std::size_t n = c.size();
    if (screen.known_cameras != nullptr) {
        const std::vector<std::uint64_t>& known = *screen.known_cameras;
        for (std::size_t i = 0; i < n; ++i) {
            if (c.problem[i] >= kMissingCamera) continue;
            if (std::binary_search(known.begin(), known.end(), c.camera_hash[i])) continue;
            if (c.problem[i] == 0) ++c.problems;
            c.problem[i] = kUnknownCamera;
        }
    }
    if (screen.memory == nullptr) return;
    std::vector<std::uint64_t> hashes;
    std::vector<std::size_t> where;
    hashes.reserve(n);
    where.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (c.problem[i] != 0) continue;
        hashes.push_back(c.read_id_hash[i]);
        where.push_back(i);
    }
    std::unique_ptr<bool[]> repeated(new bool[hashes.size() + 1]);
    screen.memory->find_duplicates(hashes.data(), hashes.size(), repeated.get());
    for (std::size_t k = 0; k < hashes.size(); ++k) {
        if (!repeated[k]) continue;
        c.problem[where[k]] = kDuplicate;
        ++c.problems;
    }
}

}  // namespace feblam
