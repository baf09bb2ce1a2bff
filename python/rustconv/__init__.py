"""rustconv: fast convolution, padding and pooling for NumPy arrays.

Two families of functions share one Rust core:

* the **signal** family, a drop-in for ``scipy.signal``'s convolution
  functions (``convolve``, ``correlate``, ``convolve2d``, ``fftconvolve``, ...);
* the **CNN** family, the layers of a convolutional network with
  ``torch.nn.functional``'s semantics on NumPy arrays (``conv2d``,
  ``max_pool2d``, ``pad``, ... and every backward pass).

All kernels run in parallel with the interpreter lock released; see
:func:`set_num_threads` and each function's ``workers=`` argument.
"""

from __future__ import annotations

from . import _cnn, _fft, _pad, _pool, _signal, _threads
from ._cnn import *  # noqa: F403
from ._fft import *  # noqa: F403
from ._pad import *  # noqa: F403
from ._pool import *  # noqa: F403
from ._rustconv import __version__
from ._signal import *  # noqa: F403
from ._threads import *  # noqa: F403

__all__ = [
    "__version__",
    *_threads.__all__,
    *_signal.__all__,
    *_fft.__all__,
    *_cnn.__all__,
    *_pad.__all__,
    *_pool.__all__,
]
