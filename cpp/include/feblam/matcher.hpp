// The batch matcher: entries of many watchlists in, one immutable set of indexes, reads matched
// in batches exactly as docs/core.md ("Entries and lists" to "Batch results") says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "feblam/confusion.hpp"
#include "feblam/formats.hpp"
#include "feblam/index.hpp"
#include "feblam/plate.hpp"

namespace feblam {

// Bit flags; a list's policy is their bitwise or.
enum MatchKind : std::uint8_t {
    kExact = 1,
    kResolved = 2,
    kOcr = 4,
    kFuzzy = 8,
    kPattern = 16,
};

enum class EditOp : std::uint8_t { none = 0, inserted = 1, dropped = 2, substituted = 3 };

struct ListPolicy {
    std::uint16_t list_id = 0;
    std::uint8_t kinds = 0;
    double min_score = 0.0;
    double near_max_confidence = 1.0;
    // FUZZY alone also needs q <= this; format doubt does not lift it (docs/core.md).
    double fuzzy_max_confidence = 1.0;
};

// One (read, entry) match with its explanation (docs/core.md, "Explanation of a match").
struct Match {
    std::uint32_t read = 0;
    std::uint32_t entry = 0;
    std::uint32_t entry_no = 0;
    std::uint16_t list_id = 0;
    std::uint16_t sub_mask = 0;
    float score = 0.0F;
    std::uint8_t kind = 0;
    std::uint8_t edit_op = 0;
    std::uint8_t edit_pos = 0;
};

// Read-only view of n texts: either a fixed-width buffer (numpy 'S' layout: each cell padded with
// NUL bytes, which are not part of the text) or an array of string views. A column of one text
// stands for that text in every row; an empty column for the empty text.
class TextColumn {
public:
    TextColumn() = default;
    static TextColumn fixed_width(const char* data, std::size_t width, std::size_t count) noexcept;
    static TextColumn of_views(const std::string_view* views, std::size_t count) noexcept;

    std::size_t size() const noexcept { return count_; }
    // Row i, with the one-text and empty-column rules above.
    std::string_view cell(std::size_t i) const noexcept {
        if (count_ == 0) return {};
        if (count_ == 1) i = 0;
        if (views_ != nullptr) return views_[i];
        const char* p = data_ + i * width_;
        std::size_t n = width_;
        while (n > 0 && p[n - 1] == '\0') --n;
        return {p, n};
    }

    // Row i's fixed-width cell (width() bytes), for a column made by fixed_width.
    std::size_t width() const noexcept { return views_ == nullptr ? width_ : 0; }
    const char* row_data(std::size_t i) const noexcept {
        return data_ + (count_ == 1 ? 0 : i) * width_;
    }

private:
    const char* data_ = nullptr;
    std::size_t width_ = 0;
    const std::string_view* views_ = nullptr;
    std::size_t count_ = 0;
};

struct EntryColumns {
    TextColumn plates;      // raw plate text; holding '?' or '*' makes a pattern entry
    TextColumn countries;   // may be empty (all unknown) or one text for all
    const std::uint16_t* list_ids = nullptr;   // one per plate
    const std::uint32_t* entry_nos = nullptr;  // one per plate
};

struct ReadColumns {
    TextColumn plates;
    // The plates are canonical already, in fixed-width kMaxPlateLen cells (the intake's, empty
    // for a plate that did not normalise): the matcher copies them instead of normalising them.
    bool canonical = false;
    TextColumn countries;                  // may be empty (all unknown) or one text for all
    const double* confidences = nullptr;   // one per plate, or null: every read has q = 1
};

struct BuildReport {
    std::size_t entries = 0;
    std::size_t indexed = 0;   // entries that normalised (plates and patterns)
    std::size_t patterns = 0;
    std::vector<std::uint32_t> rejected_entry;
    std::vector<std::uint8_t> rejected_status;
    double build_s = 0.0;
};

class Matcher {
public:
    // Throws std::invalid_argument for a list id without a policy, a list with two policies, or
    // a bad confusion-class or format spec. Bad plates are reported, not thrown.
    Matcher(const EntryColumns& entries, const std::vector<ListPolicy>& policies,
            std::string_view confusion_classes, std::string_view format_spec);

    // Matches reads.plates.size() reads. `canonical` receives kMaxPlateLen NUL-padded bytes per
    // read and `status` one PlateStatus per read; matches are appended to `out` in contract
    // order. With threads > 1 the batch is split into contiguous ranges. Safe to call from many
    // threads at once.
    void match(const ReadColumns& reads, char* canonical, std::uint8_t* status,
               std::vector<Match>& out, unsigned threads = 1) const;

    const BuildReport& report() const noexcept { return report_; }
    std::size_t memory_bytes() const noexcept;
    std::size_t exact_index_bytes() const noexcept { return exact_.memory_bytes(); }
    // Canonical plate or pattern of an entry ("" when it was rejected); throws std::out_of_range.
    std::string entry_plate(std::uint32_t entry) const;

    const FormatTable& formats() const noexcept { return formats_; }

private:
    struct PatternEntry {
        std::uint32_t entry = 0;
        char text[kMaxPlateLen] = {};
        std::uint8_t len = 0;
        std::uint8_t min_len = 0;   // characters other than '*'
        std::uint8_t max_len = 0;   // min_len, or kMaxPlateLen when there is a '*'
        std::uint8_t literals = 0;  // characters other than '?' and '*'
        std::uint64_t literal_mask = 0;   // bit per plate_char_code of the literals
    };
    struct ReadState;
    struct Scratch;
    // What verifying a candidate needs of its entry, in one 16-byte record so a candidate costs
    // one cache miss, not one per column.
    struct EntryRecord {
        std::uint64_t key = 0;         // packed canonical plate; 0 for patterns/rejected
        std::uint32_t entry_no = 0;
        std::uint16_t policy = 0;      // index into policies_
        Country country = kUnknownCountry;
    };

    void match_range(const ReadColumns& reads, std::size_t begin, std::size_t end, char* canonical,
                     std::uint8_t* status, std::vector<Match>& out) const;
    void plan_probes(ReadState& r, std::uint8_t slot, Scratch& scratch) const;
    void collect_candidates(Scratch& scratch) const;
    void finish_read(ReadState& r, std::uint32_t* cands, std::size_t count,
                     std::vector<Match>& out) const;
    bool evaluate(std::uint32_t entry, ReadState& r, Match& m) const;
    bool evaluate_pattern(const PatternEntry& pe, ReadState& r, Match& m) const;
    // The format table's verdicts on the read's plate, worked out on first use.
    const FormatTable::PlateJudgement& judgement_of(ReadState& r) const noexcept;
    void settle_country(ReadState& r) const;
    bool in_format_doubt(ReadState& r) const;
    // The plate as read fits the entry's country exactly and the read's country only re-read.
    bool speaks_against_country(ReadState& r, Country entry_country) const;
    bool near_may_pass(ReadState& r, double gate) const;
    // ocr_key of a packed plate of `len` characters, packed.
    std::uint64_t ocr_key_of(std::uint64_t key, std::size_t len) const noexcept;

    ConfusionClasses classes_;
    std::uint8_t ocr_code_[64] = {};   // plate_char_code -> code of its representative
    FormatTable formats_;
    std::vector<ListPolicy> policies_;
    std::vector<EntryRecord> entries_;   // per entry (index in the build input)
    std::vector<PatternEntry> patterns_;       // ascending entry

    KeyIndex exact_;   // plate -> entries on lists allowing EXACT or RESOLVED
    // ocr_key -> entries on lists allowing OCR or FUZZY, and one-character deletions of ocr_key
    // -> entries on lists allowing FUZZY. One index for both kinds, because their candidates
    // are verified alike and the read's own ocr_key is then one probe, not two.
    KeyIndex near_;
    bool any_resolved_ = false;
    // Every list allowing EXACT also allows OCR or FUZZY: a read that probes near_ with its
    // ocr_key finds its exact entries there too and skips the exact index.
    bool exact_in_near_ = false;
    // The loosest gates of any list, per kind (-1: no list allows the kind). A read that no list
    // could accept as a near match of a kind skips that kind's probes altogether, which is what
    // keeps confident, well-formed reads (most of them) on the cheap exact path.
    double resolved_gate_ = -1.0;
    double ocr_gate_ = -1.0;
    double fuzzy_near_gate_ = -1.0;
    double fuzzy_conf_gate_ = -1.0;
    BuildReport report_;
};

}  // namespace feblam
