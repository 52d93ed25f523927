# Hand-written stub of the private extension feblam._core; tests/test_stub.py keeps it in step.
MAX_PLATE_LEN: int
MAX_RAW_CODEPOINTS: int
DEFAULT_CONFUSION_CLASSES: str

def normalise_plate(raw: bytes) -> tuple[str, int]: ...
def normalise_pattern(raw: bytes) -> tuple[str, int]: ...
