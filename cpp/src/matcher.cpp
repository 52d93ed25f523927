// The batch matcher: building the indexes and matching reads against them.
#include "feblam/matcher.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

#include "feblam/normalise.hpp"
#include "feblam/pack.hpp"

namespace feblam {

TextColumn TextColumn::fixed_width(const char* data, std::size_t width, std::size_t count) noexcept {
    TextColumn c;
    c.data_ = data;
    c.width_ = width;
    c.count_ = count;
    return c;
}

TextColumn TextColumn::of_views(const std::string_view* views, std::size_t count) noexcept {
    TextColumn c;
    c.views_ = views;
    c.count_ = count;
    return c;
}

namespace {

constexpr std::uint16_t kNoPolicy = 0xFFFF;
// Reads are taken this many at a time so the index loads of a block overlap in memory; the
// more reads, the longer each load has to arrive before its stage comes back to it.
constexpr std::size_t kReadBlock = 64;

bool holds_wildcard(std::string_view raw) {
    return raw.find('?') != std::string_view::npos || raw.find('*') != std::string_view::npos;
}

// '?' one character, '*' any run (possibly empty); literals compare exactly.
bool glob_matches(const char* pat, std::size_t np, const char* s, std::size_t ns) {
    std::size_t p = 0, i = 0, star_p = np, star_i = 0;
    while (i < ns) {
        if (p < np && (pat[p] == '?' || pat[p] == s[i])) {
            ++p;
            ++i;
        } else if (p < np && pat[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (star_p != np) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < np && pat[p] == '*') ++p;
    return p == np;
}

std::uint64_t char_mask(std::string_view s) {
    std::uint64_t m = 0;
    for (char c : s) m |= std::uint64_t{1} << plate_char_code(c);
    return m;
}

// The packed key with the character at position p removed.
std::uint64_t delete_char(std::uint64_t key, std::size_t p) {
    const auto shift = static_cast<unsigned>(p * kBitsPerChar);
    const std::uint64_t low = key & ((std::uint64_t{1} << shift) - 1U);
    const std::uint64_t high = key >> (shift + kBitsPerChar);
    return low | (high << shift);
}

// Bit 0 of each 6-bit character cell.
constexpr std::uint64_t kCellLowBits = 0x0041041041041041ULL;

// Bit 0 of each character cell set when any bit of that cell is set in x.
std::uint64_t nonzero_chars(std::uint64_t x) {
    return (x | (x >> 1) | (x >> 2) | (x >> 3) | (x >> 4) | (x >> 5)) & kCellLowBits;
}

// A loop rather than the builtin: without a popcount instruction in the target the builtin is a
// library call, and masks here hold a few bits.
int popcount16(std::uint16_t m) {
    int n = 0;
    for (unsigned x = m; x != 0; x &= x - 1U) ++n;
    return n;
}

float final_score(double base, double q) { return static_cast<float>(base * (0.5 + 0.5 * q)); }

}  // namespace

// What is known about one read while it is matched; the country work is done only on demand.
struct Matcher::ReadState {
    std::uint32_t index = 0;
    Plate plate;
    std::string_view s;
    std::uint64_t key = 0;
    std::uint64_t hash = 0;
    std::string_view country_text;
    double q = 1.0;
    bool country_settled = false;
    Country sent = kUnknownCountry;       // as sent, aliases applied
    Country effective = kUnknownCountry;  // unknown when the plate fits none of sent's formats
    int doubt = -1;                       // -1 not yet known
    std::uint64_t okey = 0;   // the plate's OCR key: each character's class representative, packed
    std::vector<Resolution>* resolutions = nullptr;
    bool judged = false;                  // judgement below worked out
    FormatTable::PlateJudgement judgement;
};

namespace {
// One index lookup of a read in a block, carried through the stages of match_range.
struct Probe {
    std::uint64_t hash = 0;
    const KeyIndex* index = nullptr;
    KeyIndex::Run run;
    std::uint32_t bucket = 0;
    std::uint32_t read = 0;   // slot in the block
};
}  // namespace

// Per-thread working memory of one block of reads, reused from block to block.
struct Matcher::Scratch {
    ReadState reads[kReadBlock];
    bool live[kReadBlock] = {};
    std::vector<Resolution> resolutions[kReadBlock];
    std::vector<Probe> probes;
    std::vector<std::uint32_t> candidates;
    std::size_t candidates_end[kReadBlock] = {};
};

Matcher::Matcher(const EntryColumns& entries, const std::vector<ListPolicy>& policies,
                 std::string_view confusion_classes, std::string_view format_spec)
    : classes_(confusion_classes), formats_(format_spec, classes_), policies_(policies) {
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t code = 1; code < 64; ++code) {
        const char c = plate_char_from_code(code);
        ocr_code_[code] = c == '\0' ? 0 : static_cast<std::uint8_t>(plate_char_code(classes_.representative(c)));
    }
    std::vector<std::uint16_t> slot_of_list(65536, kNoPolicy);
    for (std::size_t i = 0; i < policies_.size(); ++i) {
        auto& slot = slot_of_list[policies_[i].list_id];
        if (slot != kNoPolicy) {
            throw std::invalid_argument("list " + std::to_string(policies_[i].list_id) +
                                        " has two policies");
        }
        slot = static_cast<std::uint16_t>(i);
        const ListPolicy& p = policies_[i];
        if (p.kinds & kResolved) {
            any_resolved_ = true;
            resolved_gate_ = std::max(resolved_gate_, p.near_max_confidence);
        }
        if (p.kinds & kOcr) ocr_gate_ = std::max(ocr_gate_, p.near_max_confidence);
        if (p.kinds & kFuzzy) {
            fuzzy_near_gate_ = std::max(fuzzy_near_gate_, p.near_max_confidence);
            fuzzy_conf_gate_ = std::max(fuzzy_conf_gate_, p.fuzzy_max_confidence);
        }
    }
    if (policies_.size() >= kNoPolicy) throw std::invalid_argument("too many list policies");

    const std::size_t n = entries.plates.size();
    if (n >= 0xFFFFFFFFU) throw std::length_error("too many entries");
    if (n > 0 && (entries.list_ids == nullptr || entries.entry_nos == nullptr)) {
        throw std::invalid_argument("entries need list ids and entry numbers");
    }
    entries_.assign(n, EntryRecord{});
    report_.entries = n;

    KeyIndex::Pairs exact_pairs, near_pairs;
    // Sized up front: growing by doubling would briefly hold 1.5x the pairs of a national list
    // beside the version still serving.
    bool any_exact = false, any_ocr = false, any_fuzzy = false;
    exact_in_near_ = true;
    for (const ListPolicy& p : policies_) {
        any_exact = any_exact || (p.kinds & (kExact | kResolved)) != 0;
        any_ocr = any_ocr || (p.kinds & kOcr) != 0;
        any_fuzzy = any_fuzzy || (p.kinds & kFuzzy) != 0;
        if ((p.kinds & kExact) && !(p.kinds & (kOcr | kFuzzy))) exact_in_near_ = false;
    }
    if (any_exact) exact_pairs.reserve(n);
    if (any_fuzzy) {
        near_pairs.reserve(n * 8);
    } else if (any_ocr) {
        near_pairs.reserve(n);
    }
    char okey[kMaxPlateLen];
    for (std::size_t i = 0; i < n; ++i) {
        const auto id = static_cast<std::uint32_t>(i);
        const std::uint16_t slot = slot_of_list[entries.list_ids[i]];
        if (slot == kNoPolicy) {
            throw std::invalid_argument("list " + std::to_string(entries.list_ids[i]) +
                                        " has no policy");
        }
        EntryRecord& record = entries_[i];
        record.policy = slot;
        record.entry_no = entries.entry_nos[i];
        record.country = formats_.canonical_country(pack_country(entries.countries.cell(i)));
        const std::string_view raw = entries.plates.cell(i);
        const bool is_pattern = holds_wildcard(raw);
        const Plate p = is_pattern ? normalise_pattern(raw) : normalise_plate(raw);
        if (!p.ok()) {
            report_.rejected_entry.push_back(id);
            report_.rejected_status.push_back(static_cast<std::uint8_t>(p.status));
            continue;
        }
        ++report_.indexed;
        const std::uint8_t kinds = policies_[slot].kinds;
        if (is_pattern) {
            ++report_.patterns;
            PatternEntry pe;
            pe.entry = id;
            pe.len = p.len;
            std::memcpy(pe.text, p.text, p.len);
            bool star = false;
            for (std::size_t k = 0; k < p.len; ++k) {
                const char c = p.text[k];
                if (c == '*') {
                    star = true;
                } else {
                    ++pe.min_len;
                    if (c != '?') {
                        ++pe.literals;
                        pe.literal_mask |= std::uint64_t{1} << plate_char_code(c);
                    }
                }
            }
            pe.max_len = star ? static_cast<std::uint8_t>(kMaxPlateLen) : pe.min_len;
            patterns_.push_back(pe);
            continue;
        }
        const std::uint64_t key = pack_plate(p.view());
        record.key = key;
        if (kinds & (kExact | kResolved)) exact_pairs.add(key, id);
        if (kinds & (kOcr | kFuzzy)) {
            for (std::size_t k = 0; k < p.len; ++k) okey[k] = classes_.representative(p.text[k]);
            const std::uint64_t ok = pack_plate(std::string_view(okey, p.len));
            near_pairs.add(ok, id);
            if (kinds & kFuzzy) {
                for (std::size_t k = 0; k < p.len; ++k) near_pairs.add(delete_char(ok, k), id);
            }
        }
    }
    exact_ = KeyIndex::build(std::move(exact_pairs));
    near_ = KeyIndex::build(std::move(near_pairs));
    report_.build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

std::size_t Matcher::memory_bytes() const noexcept {
    return exact_.memory_bytes() + near_.memory_bytes() + entries_.size() * sizeof(EntryRecord) +
           patterns_.size() * sizeof(PatternEntry);
}

std::string Matcher::entry_plate(std::uint32_t entry) const {
    if (entry >= entries_.size()) throw std::out_of_range("no such entry");
    if (entries_[entry].key != 0) return unpack_plate(entries_[entry].key);
    auto it = std::lower_bound(patterns_.begin(), patterns_.end(), entry,
                               [](const PatternEntry& pe, std::uint32_t e) { return pe.entry < e; });
    if (it != patterns_.end() && it->entry == entry) return std::string(it->text, it->len);
    return {};
}

std::uint64_t Matcher::ocr_key_of(std::uint64_t key, std::size_t len) const noexcept {
    std::uint64_t out = 0;
    for (std::size_t k = 0; k < len; ++k) {
        const auto shift = static_cast<unsigned>(k * kBitsPerChar);
        out |= std::uint64_t{ocr_code_[(key >> shift) & 63U]} << shift;
    }
    return out;
}

const FormatTable::PlateJudgement& Matcher::judgement_of(ReadState& r) const noexcept {
    if (!r.judged) {
        r.judgement = formats_.judge(r.s);
        r.judged = true;
    }
    return r.judgement;
}

void Matcher::settle_country(ReadState& r) const {
    if (r.country_settled) return;
    r.country_settled = true;
    r.sent = formats_.canonical_country(pack_country(r.country_text));
    r.effective = r.sent;
    // A reader's country guess that the plate cannot fit is disregarded (docs/core.md); one it
    // fits only re-read is kept, and speaks_against_country judges it entry by entry.
    if (formats_.has_formats(r.sent) && !formats_.fits(r.s, judgement_of(r), r.sent, false)) {
        r.effective = kUnknownCountry;
    }
}

bool Matcher::near_may_pass(ReadState& r, double gate) const {
    if (gate < 0.0) return false;
    return r.q <= gate || in_format_doubt(r);
}

bool Matcher::in_format_doubt(ReadState& r) const {
    if (r.doubt < 0) {
        settle_country(r);
        bool doubt = false;
        if (r.sent != kUnknownCountry) {
            doubt = formats_.has_formats(r.sent) && !formats_.fits(r.s, judgement_of(r), r.sent, true);
        } else {
            doubt = !formats_.fits(r.s, judgement_of(r), kUnknownCountry, true);
        }
        r.doubt = doubt ? 1 : 0;
    }
    return r.doubt == 1;
}

bool Matcher::speaks_against_country(ReadState& r, Country entry_country) const {
    // With the effective country known it is the country as sent, so its format doubt is the
    // read's (cached); an entry country without formats fits nothing exactly.
    settle_country(r);
    return r.effective != kUnknownCountry && entry_country != kUnknownCountry && in_format_doubt(r) &&
           formats_.fits(r.s, judgement_of(r), entry_country, true);
}

bool Matcher::evaluate_pattern(const PatternEntry& pe, ReadState& r, Match& m) const {
    const ListPolicy& policy = policies_[entries_[pe.entry].policy];
    if (!(policy.kinds & kPattern)) return false;
    settle_country(r);
    if (!countries_compatible(entries_[pe.entry].country, r.effective)) return false;
    if (!glob_matches(pe.text, pe.len, r.s.data(), r.s.size())) return false;
    m.kind = kPattern;
    m.score = final_score(0.3 + 0.2 * static_cast<double>(pe.literals) / static_cast<double>(r.s.size()), r.q);
    return true;
}

bool Matcher::evaluate(std::uint32_t entry, ReadState& r, Match& m) const {
    // Everything is compared on packed keys: a plate is one register, not a string.
    const EntryRecord& record = entries_[entry];
    const ListPolicy& policy = policies_[record.policy];
    const Country ec = record.country;
    const std::uint64_t P = record.key;
    const std::uint64_t s = r.key;
    const std::size_t lp = packed_length(P);
    const std::size_t ls = r.s.size();
    settle_country(r);
    const bool compatible = countries_compatible(ec, r.effective);

    std::uint8_t kind = 0;
    EditOp op = EditOp::none;
    std::size_t edit_pos = 0;
    if ((policy.kinds & kExact) && s == P && (compatible || speaks_against_country(r, ec))) {
        kind = kExact;
    } else if ((policy.kinds & kResolved) && s != P &&
               std::any_of(r.resolutions->begin(), r.resolutions->end(), [&](const Resolution& res) {
                   return pack_plate(res.reading.view()) == P && countries_compatible(ec, res.country);
               })) {
        kind = kResolved;
    } else if (compatible && s != P && (policy.kinds & (kOcr | kFuzzy))) {
        const std::uint64_t a = r.okey, b = ocr_key_of(P, lp);
        if ((policy.kinds & kOcr) && ls == lp && a == b) {
            kind = kOcr;
        } else if (policy.kinds & kFuzzy) {
            if (ls == lp) {
                const std::uint64_t differing = nonzero_chars(a ^ b);
                if ((differing & (differing - 1U)) == 0) {
                    kind = kFuzzy;
                    if (differing != 0) {
                        op = EditOp::substituted;
                        edit_pos = static_cast<std::size_t>(__builtin_ctzll(differing)) / kBitsPerChar;
                    }
                }
            } else if (ls == lp + 1 || lp == ls + 1) {
                const bool inserted = ls == lp + 1;
                const std::uint64_t longer = inserted ? a : b, shorter = inserted ? b : a;
                const std::size_t n = inserted ? ls : lp;
                for (std::size_t p = 0; p < n; ++p) {
                    if (delete_char(longer, p) == shorter) {
                        kind = kFuzzy;
                        op = inserted ? EditOp::inserted : EditOp::dropped;
                        edit_pos = p;
                        break;
                    }
                }
            }
        }
    }
    if (kind == 0) return false;
    // RESOLVED is a near match too: a read that fits some format as it stands is most likely
    // a plate of that format, not a misread of a listed plate of another country.
    if ((kind == kResolved || kind == kOcr || kind == kFuzzy) &&
        !(r.q <= policy.near_max_confidence || in_format_doubt(r))) {
        return false;
    }
    // A broken read is one edit away from many plates: format doubt is no evidence for FUZZY.
    if (kind == kFuzzy && !(r.q <= policy.fuzzy_max_confidence)) return false;

    // The entry's characters moved to the read positions they align with; the position a
    // reader inserted aligns with nothing and is left out of the mask.
    std::uint64_t aligned = P;
    std::uint64_t differing = 0;
    if (op == EditOp::inserted) {
        const auto shift = static_cast<unsigned>(edit_pos * kBitsPerChar);
        const std::uint64_t low = P & ((std::uint64_t{1} << shift) - 1U);
        aligned = low | ((P >> shift) << (shift + kBitsPerChar));
        differing = nonzero_chars(s ^ aligned) & ~(std::uint64_t{1} << shift);
    } else {
        if (op == EditOp::dropped) aligned = delete_char(P, edit_pos);
        differing = nonzero_chars(s ^ aligned);
    }
    std::uint16_t sub_mask = 0;
    for (; differing != 0; differing &= differing - 1U) {
        const auto i = static_cast<unsigned>(__builtin_ctzll(differing)) / kBitsPerChar;
        sub_mask = static_cast<std::uint16_t>(sub_mask | (1U << i));
    }
    double base = 0.0;
    switch (kind) {
        case kExact: base = 1.0; break;
        case kResolved: base = 0.9; break;
        case kOcr: base = 0.8 - 0.02 * static_cast<double>(popcount16(sub_mask) - 1); break;
        default: {
            int bits = popcount16(sub_mask);
            if (op == EditOp::substituted && ((static_cast<unsigned>(sub_mask) >> edit_pos) & 1U) != 0U) --bits;
            base = 0.55 - 0.02 * static_cast<double>(bits);
        }
    }
    m.kind = kind;
    m.sub_mask = sub_mask;
    m.edit_op = static_cast<std::uint8_t>(op);
    m.edit_pos = static_cast<std::uint8_t>(edit_pos);
    m.score = final_score(base, r.q);
    return true;
}

void Matcher::plan_probes(ReadState& r, std::uint8_t slot, Scratch& scratch) const {
    auto& probes = scratch.probes;
    auto add = [&probes, slot](const KeyIndex& index, std::uint64_t hash) {
        index.prefetch_hash(hash);
        // Filled in place: a probe built on the stack and copied in stalled on the copy's wide
        // load of fields just stored narrow.
        Probe& p = probes.emplace_back();
        p.hash = hash;
        p.index = &index;
        p.read = slot;
    };
    std::vector<Resolution>& resolutions = scratch.resolutions[slot];
    resolutions.clear();
    r.resolutions = &resolutions;
    const std::size_t ls = r.s.size();
    r.okey = ocr_key_of(r.key, ls);
    const bool ocr_probe = !near_.empty() && near_may_pass(r, ocr_gate_);
    const bool fuzzy_probe = !near_.empty() && r.q <= fuzzy_conf_gate_ &&
                             near_may_pass(r, fuzzy_near_gate_);
    if (!exact_.empty() && !(exact_in_near_ && (ocr_probe || fuzzy_probe))) add(exact_, r.hash);
    if (any_resolved_ && !exact_.empty() && near_may_pass(r, resolved_gate_)) {
        settle_country(r);
        formats_.resolutions(r.s, judgement_of(r), r.effective, resolutions);
        for (const Resolution& res : resolutions) add(exact_, mix_key(pack_plate(res.reading.view())));
    }
    if (ocr_probe || fuzzy_probe) {
        const std::uint64_t okey = r.okey;
        add(near_, mix_key(okey));
        if (fuzzy_probe) {
            for (std::size_t k = 0; k < ls; ++k) add(near_, mix_key(delete_char(okey, k)));
        }
    }
}

void Matcher::collect_candidates(Scratch& scratch) const {
    // Each pass starts the loads the next pass waits on, for every probe of the block at once:
    // a lone probe would wait for its filter block, bucket and run one after the other.
    auto& probes = scratch.probes;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < probes.size(); ++i) {
        Probe& p = probes[i];
        if (!p.index->may_contain_hash(p.hash)) continue;
        p.bucket = p.index->bucket_of(p.hash);
        p.index->prefetch_bucket(p.bucket);
        probes[kept++] = p;
    }
    probes.resize(kept);
    for (Probe& p : probes) {
        p.run = p.index->run_of(p.bucket);
        p.index->prefetch_run(p.run);
    }
    auto& cands = scratch.candidates;
    cands.clear();
    std::size_t next = 0;
    for (std::uint32_t j = 0; j < kReadBlock; ++j) {
        for (; next < probes.size() && probes[next].read == j; ++next) {
            const Probe& p = probes[next];
            p.index->emit_run(p.hash, p.run, [&](std::uint32_t id) {
                __builtin_prefetch(&entries_[id]);
                cands.push_back(id);
            });
        }
        scratch.candidates_end[j] = cands.size();
    }
}

void Matcher::finish_read(ReadState& r, std::uint32_t* cands, std::size_t count,
                          std::vector<Match>& out) const {
    const std::size_t from = out.size();
    if (count > 1) {
        std::sort(cands, cands + count);
        count = static_cast<std::size_t>(std::unique(cands, cands + count) - cands);
    }
    // A match the list's minimum score admits, with its read, entry and list filled in.
    auto emit = [&](std::uint32_t e, Match& m) {
        const EntryRecord& record = entries_[e];
        const ListPolicy& policy = policies_[record.policy];
        if (static_cast<double>(m.score) < policy.min_score) return;
        m.read = r.index;
        m.entry = e;
        m.entry_no = record.entry_no;
        m.list_id = policy.list_id;
        out.push_back(m);
    };
    for (std::size_t c = 0; c < count; ++c) {
        Match m;
        if (evaluate(cands[c], r, m)) emit(cands[c], m);
    }
    if (!patterns_.empty()) {
        const std::size_t ls = r.s.size();
        const std::uint64_t mask = char_mask(r.s);
        for (const PatternEntry& pe : patterns_) {
            if (ls < pe.min_len || ls > pe.max_len || (pe.literal_mask & ~mask) != 0) continue;
            Match m;
            if (evaluate_pattern(pe, r, m)) emit(pe.entry, m);
        }
    }
    if (out.size() - from > 1) {
        std::sort(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(),
                  [](const Match& x, const Match& y) {
                      return x.score != y.score ? x.score > y.score : x.entry < y.entry;
                  });
    }
}

void Matcher::match_range(const ReadColumns& reads, std::size_t begin, std::size_t end,
                          char* canonical, std::uint8_t* status, std::vector<Match>& out) const {
    // Only the exact index's filter can rule a read out alone; anything else needs the full path.
    const bool exact_only = !any_resolved_ && near_.empty() && patterns_.empty();
    // One working memory per thread, kept from call to call: a batch's call used to allocate
    // it, and the vectors in it, afresh. Every block resets what it uses.
    thread_local std::unique_ptr<Scratch> kept;
    if (!kept) {
        kept = std::make_unique<Scratch>();
        kept->probes.reserve(kReadBlock * (kMaxPlateLen + 4));
    }
    Scratch* const scratch = kept.get();
    // The intake's cells: kMaxPlateLen NUL-padded bytes each, copied whole into the plate.
    // (Canonical text in any other layout normalises to itself.)
    const bool whole_cells = reads.canonical && reads.plates.width() == kMaxPlateLen;
    // r.plate is filled before; what else is known of the read starts here.
    auto start_read = [&reads](ReadState& r, std::size_t i, std::uint64_t key) {
        // Field by field rather than `r = ReadState{}`: the block's states are reused, and
        // zeroing the whole state (the format judgement with it) cost more than the rest of the
        // setup. What is worked out on demand is marked not worked out.
        r.q = 1.0;
        r.country_settled = false;
        r.sent = kUnknownCountry;
        r.effective = kUnknownCountry;
        r.doubt = -1;
        r.okey = 0;
        r.resolutions = nullptr;
        r.judged = false;
        r.index = static_cast<std::uint32_t>(i);
        r.s = r.plate.view();
        r.key = key;
        r.hash = mix_key(key);
        r.country_text = reads.countries.cell(i);
        if (reads.confidences != nullptr) {
            const double q = reads.confidences[i];
            // An unusable confidence counts as absent.
            r.q = std::isnan(q) ? 1.0 : std::clamp(q, 0.0, 1.0);
        }
    };
    for (std::size_t start = begin; start < end; start += kReadBlock) {
        const std::size_t count = std::min(kReadBlock, end - start);
        scratch->probes.clear();
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t i = start + j;
            // Built where it stays: a plate assembled elsewhere and copied here stalled on
            // store forwarding (its bytes stored one by one, then loaded as words).
            Plate& plate = scratch->reads[j].plate;
            if (whole_cells) {
                std::memcpy(plate.text, reads.plates.row_data(i), kMaxPlateLen);
                std::size_t n = kMaxPlateLen;
                while (n > 0 && plate.text[n - 1] == '\0') --n;
                plate.len = static_cast<std::uint8_t>(n);
                plate.status = n > 0 ? PlateStatus::ok : PlateStatus::empty;
            } else {
                plate = normalise_plate(reads.plates.cell(i));
            }
            // The plate's unused tail is zero: one fixed-size copy fills the cell.
            static_assert(sizeof plate.text == kMaxPlateLen, "a cell holds one plate's text");
            std::memcpy(canonical + i * kMaxPlateLen, plate.text, sizeof plate.text);
            status[i] = static_cast<std::uint8_t>(plate.status);
            scratch->live[j] = plate.ok();
            if (!plate.ok()) continue;
            const std::uint64_t key = pack_plate(plate.view());
            const std::uint64_t hash = mix_key(key);
            if (exact_only) {
                // No read state until the filter says the plate may be listed: most are not.
                exact_.prefetch_hash(hash);
                Probe& p = scratch->probes.emplace_back();
                p.hash = hash;
                p.index = &exact_;
                p.read = static_cast<std::uint32_t>(j);
                continue;
            }
            ReadState& r = scratch->reads[j];
            start_read(r, i, key);
            plan_probes(r, static_cast<std::uint8_t>(j), *scratch);
        }
        collect_candidates(*scratch);
        std::size_t cand_from = 0;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t cand_to = scratch->candidates_end[j];
            if (scratch->live[j] && !(exact_only && cand_to == cand_from)) {
                ReadState& r = scratch->reads[j];
                if (exact_only) {
                    start_read(r, start + j, pack_plate(r.plate.view()));
                    r.resolutions = &scratch->resolutions[j];
                    scratch->resolutions[j].clear();
                }
                finish_read(r, scratch->candidates.data() + cand_from, cand_to - cand_from, out);
            }
            cand_from = cand_to;
        }
    }
}

void Matcher::match(const ReadColumns& reads, char* canonical, std::uint8_t* status,
                    std::vector<Match>& out, unsigned threads) const {
    const std::size_t n = reads.plates.size();
    if (n >= 0xFFFFFFFFU) throw std::length_error("too many reads in one batch");
    if (threads <= 1 || n < 2 * kReadBlock) {
        match_range(reads, 0, n, canonical, status, out);
        return;
    }
    const std::size_t parts = std::min<std::size_t>(threads, n / kReadBlock);
    std::vector<std::vector<Match>> found(parts);
    std::vector<std::thread> workers;
    const std::size_t step = (n + parts - 1) / parts;
    for (std::size_t t = 1; t < parts; ++t) {
        const std::size_t b = std::min(n, t * step), e = std::min(n, (t + 1) * step);
        workers.emplace_back([&, b, e, t] { match_range(reads, b, e, canonical, status, found[t]); });
    }
    match_range(reads, 0, std::min(n, step), canonical, status, found[0]);
    for (auto& w : workers) w.join();
    for (auto& part : found) out.insert(out.end(), part.begin(), part.end());
}

}  // namespace feblam
