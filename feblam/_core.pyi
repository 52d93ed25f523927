# Hand-written stub of the private extension feblam._core; tests/test_stub.py keeps it in step.
MAX_PLATE_LEN: int
MAX_RAW_CODEPOINTS: int
DEFAULT_CONFUSION_CLASSES: str

def normalise_plate(raw: bytes) -> tuple[str, int]: ...
def normalise_pattern(raw: bytes) -> tuple[str, int]: ...

# --- columns (watchlist files) ---
import numpy as np
import numpy.typing as npt

def normalise_column(
    offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8], patterns: bool = False
) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.uint8]]: ...

# --- matcher ---
from typing import Any

class Matcher:
    def __init__(
        self,
        plates: npt.NDArray[np.bytes_],
        countries: npt.NDArray[np.bytes_],
        list_ids: npt.NDArray[np.uint16],
        entry_nos: npt.NDArray[np.uint32],
        policy_lists: npt.NDArray[np.uint16],
        policy_kinds: npt.NDArray[np.uint8],
        policy_min_score: npt.NDArray[np.float64],
        policy_near_max: npt.NDArray[np.float64],
        confusion_classes: str,
        formats: str,
    ) -> None: ...
    def match(
        self,
        plates: npt.NDArray[np.bytes_],
        countries: npt.NDArray[np.bytes_],
        confidences: npt.NDArray[np.float64] | None,
        threads: int = 1,
    ) -> tuple[Any, ...]: ...
    def report(
        self,
    ) -> tuple[int, int, int, npt.NDArray[np.uint32], npt.NDArray[np.uint8], float]: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def exact_index_bytes(self) -> int: ...
    @property
    def entry_count(self) -> int: ...
    @property
    def format_countries(self) -> list[str]: ...
    def entry_plate(self, entry: int) -> str: ...
