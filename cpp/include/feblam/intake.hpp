// A serialized ReadBatch read into the columns the engine works on: canonical plates, keyed
// hashes, each read's first problem. Pure C++ on raw buffers, so it can run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "feblam/keyed.hpp"
#include "feblam/plate.hpp"
#include "feblam/wire.hpp"

namespace feblam {

// A read's failing check, later checks taking precedence: 0 none, 1-6 the PlateStatus, then
// these. The service maps them onto its wire statuses. An unknown camera outranks plate,
// confidence and time, but not a missing or oversized field; only reads with no other problem
// are duplicates.
enum ReadProblem : std::uint8_t {
    kConfidenceOutOfRange = 7,
    kTimeOutOfRange = 8,
    kMissingCamera = 9,
    kMissingReadId = 10,
    kUnknownCamera = 11,
    kDuplicate = 12,
    kCountryTooLong = 13,
    kCameraIdTooLong = 14,
    kReadIdTooLong = 15,
    kReadTooLarge = 16,
};

// What one read may carry. The engine keeps the ids and country of accepted reads for the
// retroactive window, and the country column is as wide as a batch's longest country: one
// oversized field must cost its read, not the engine's memory. Real ids are a few dozen bytes,
// countries two or three, whole reads a few hundred.
constexpr std::size_t kMaxReadIdBytes = 128;
constexpr std::size_t kMaxCameraIdBytes = 128;
constexpr std::size_t kMaxCountryBytes = 16;
constexpr std::size_t kMaxReadBytes = 16 * 1024;

// What reading a batch needs besides its bytes: the keys and the accepted time range.
struct IntakeRules {
    HashKey plate_key{0};          // plates and their OCR keys (the retroactive buffer's secret)
    HashKey id_key{0};             // read ids and camera ids (the engine's own secret)
    // Read ids are unique per integrator only: each integrator's ids are hashed into its own
    // space by this value (the keyed hash of its name; 0 for an engine serving one integrator).
    std::uint64_t read_scope = 0;
    unsigned char ocr[256] = {};   // each byte's confusion-class representative
    std::int64_t min_observed_us = std::numeric_limits<std::int64_t>::min();
    std::int64_t max_observed_us = std::numeric_limits<std::int64_t>::max();
};

// One column per field, one row per read. Text views point into the serialized batch.
struct IntakeColumns {
    WireBatch batch;
    std::vector<char> canonical;        // kMaxPlateLen NUL-padded bytes per read
    std::vector<char> country;          // country_width NUL-padded bytes per read
    std::size_t country_width = 1;
    std::vector<std::int64_t> observed_us;
    std::vector<float> confidence;      // absent: 1.0
    std::vector<double> confidence64;   // the same, widened once for the matcher
    std::vector<std::uint8_t> plate_status;
    std::vector<std::uint8_t> problem;
    std::vector<std::uint64_t> plate_hash;
    std::vector<std::uint64_t> ocr_hash;
    std::vector<std::uint64_t> read_id_hash;
    std::vector<std::uint64_t> camera_hash;
    std::size_t problems = 0;           // reads with a problem
    std::int64_t newest_ok_us = std::numeric_limits<std::int64_t>::min();

    std::size_t size() const noexcept { return batch.reads.size(); }
};

// Fills `out` from `bytes`, which must outlive it; a malformed batch is returned, not thrown.
WireError read_intake(std::string_view bytes, const IntakeRules& rules, IntakeColumns& out);

// The engine's own checks after read_intake's, each optional: the camera registry (camera hashes,
// sorted) and the read ids accepted before or earlier in the batch. newest_ok_us stays an upper
// bound of the accepted reads' times.
struct IntakeScreen {
    const std::vector<std::uint64_t>* known_cameras = nullptr;
    const ReadIdMemory* memory = nullptr;
};
void screen_intake(const IntakeScreen& screen, IntakeColumns& columns);

}  // namespace feblam
