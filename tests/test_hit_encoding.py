"""Hits written from cached parts parse to the same message as hits built field by field."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from feblam.hits.encoding import entry_field, list_field, read_field
from feblam.v1 import hits_pb2, reads_pb2
from feblam.watchlists.definitions import Category, ListDefinition

texts = st.text(max_size=40)


@settings(max_examples=150, deadline=None)
@given(read_id=texts, camera=texts, raw=texts, observed=st.integers(0, 2**62),
       confidence=st.floats(0, 1, width=32), image=st.text(max_size=300),
       entry_no=st.integers(0, 2**32 - 1), plate=texts, reason=texts,
       fields=st.dictionaries(st.text(min_size=1, max_size=8).filter(
           lambda k: k not in {"plate", "country", "reason", "reference", "valid_from",
                               "valid_until", "entry_no"}), texts, max_size=3),
       version=st.integers(1, 2**31), covert=st.booleans(), hit_id=texts,
       priority=st.integers(1, 9), positions=st.lists(st.integers(0, 15), max_size=4))
def test_parts_make_the_same_hit(read_id: str, camera: str, raw: str, observed: int,
                                 confidence: float, image: str, entry_no: int, plate: str,
                                 reason: str, fields: dict[str, str], version: int, covert: bool,
                                 hit_id: str, priority: int, positions: list[int]) -> None:
    read = reads_pb2.Read(read_id=read_id, camera_id=camera, raw_plate=raw, observed_us=observed,
                          confidence=confidence, image_ref=image)
    valid_from = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
    entry = {"plate": plate, "country": "BE", "reason": reason, "reference": None,
             "valid_from": valid_from, "valid_until": None, "entry_no": entry_no, **fields}
    definition = ListDefinition(7, "wanted", Category.WANTED, covert=covert)
    own = hits_pb2.Hit(hit_id=hit_id, priority=priority, substituted_positions=positions,
                       match_kind=hits_pb2.MATCH_KIND_OCR)
    written = b"".join((own.SerializeToString(), read_field(read.SerializeToString()),
                        entry_field(entry, entry_no), list_field(definition, version)))

    expected = hits_pb2.Hit()
    expected.CopyFrom(own)
    expected.read.CopyFrom(read)
    expected.entry.CopyFrom(hits_pb2.EntryRef(
        entry_no=entry_no, plate=plate, country="BE", reason=reason,
        valid_from_us=int(valid_from.timestamp() * 1_000_000), fields=fields))
    expected.list.CopyFrom(hits_pb2.ListRef(list_id=7, name="wanted", category="wanted",
                                            version=version, covert=covert))
    assert hits_pb2.Hit.FromString(written) == expected


def test_embedded_reads_of_every_length_class_encode_as_protobuf_does() -> None:
    # Lengths below 2**14 take their varint from a table made once, longer ones are built.
    for n in (0, 1, 120, 127, 128, 16_370, 16_383, 16_384, 70_000):
        read = reads_pb2.Read(image_ref="z" * n)
        assert read_field(read.SerializeToString()) == hits_pb2.Hit(read=read).SerializeToString()
