# Hand-written stub of the extension module, checked by mypy.stubtest.
# Each family keeps its section; the wrappers in _signal.py, _cnn.py and
# _pool.py are the public, documented face.

from typing import Any

__version__: str

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def _config() -> dict[str, Any]: ...

# --- signal family ---

# --- fft family ---

# --- cnn family ---

# --- pad family ---

# --- pool family ---
