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
