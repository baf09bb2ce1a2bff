"""``python -m rustconv``: the textbook ideas of convolution, run on a synthetic image.

Each step prints what it shows; the last one times rustconv against
scipy.signal when scipy is installed.
"""

from __future__ import annotations

import time

import numpy as np

import rustconv


def _show(title: str, array: np.ndarray) -> None:
    print(f"\n{title}  shape={array.shape}")
    with np.printoptions(precision=1, suppress=True, linewidth=100):
        print(array)


def _square_image(size: int) -> np.ndarray:
    """A dark image with a bright square in the middle: edges to find."""
    img = np.zeros((size, size), dtype=np.float32)
    quarter = size // 4
    img[quarter : size - quarter, quarter : size - quarter] = 1.0
    return img


def textbook() -> None:
    x = np.arange(25, dtype=np.float32).reshape(5, 5)
    k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
    _show("A 5x5 input", x)
    _show("a 3x3 kernel (the Laplacian)", k)

    valid = rustconv.correlate2d(x, k, mode="valid")
    _show("Sliding the kernel over the input, no padding: O = H - K + 1 = 5 - 3 + 1 = 3", valid)

    batched_x, batched_k = x[None, None], k[None, None]
    strided = rustconv.conv2d(batched_x, batched_k, stride=2)[0, 0]
    _show("Stride 2: the kernel moves two pixels at a time, O = floor((5 - 3) / 2) + 1 = 2", strided)

    same = rustconv.conv2d(batched_x, batched_k, padding=1)[0, 0]
    _show("Zero padding of 1 keeps the size: O = 5 + 2*1 - 3 + 1 = 5", same)
    shape = rustconv.conv_output_shape((5, 5), kernel_size=3, stride=1, padding=1)
    print(f"conv_output_shape((5, 5), 3, padding=1) = {shape}")

    img = _square_image(12)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    gx = rustconv.correlate2d(img, sobel_x, mode="same")
    gy = rustconv.correlate2d(img, sobel_x.T, mode="same")
    edges = np.hypot(gx, gy)
    _show("A bright square on a dark image", img)
    _show("Sobel edge magnitude: large only on the square's border", edges)


def speed() -> None:
    try:
        import scipy.signal
    except ImportError:
        print("\n(scipy is not installed: skipping the speed comparison)")
        return
    rng = np.random.default_rng(0)
    image = rng.standard_normal((1024, 1024)).astype(np.float32)
    print("\nSpeed against scipy.signal on a 1024x1024 float32 image, mode='same' (median of 3):")
    print(f"{'call':<32}{'scipy':>10}{'rustconv':>10}{'speed-up':>10}")
    for size in (3, 9):
        kernel = rng.standard_normal((size, size)).astype(np.float32)
        times: dict[str, list[float]] = {"scipy": [], "rustconv": []}
        for _ in range(3):  # interleaved, so both see the same machine load
            for name, fn in (("scipy", scipy.signal.convolve2d), ("rustconv", rustconv.convolve2d)):
                start = time.perf_counter()
                fn(image, kernel, mode="same")
                times[name].append(time.perf_counter() - start)
        ref, ours = (float(np.median(times[n])) for n in ("scipy", "rustconv"))
        label = f"convolve2d {size}x{size}"
        print(f"{label:<32}{ref * 1e3:>8.1f}ms{ours * 1e3:>8.1f}ms{ref / ours:>9.1f}x")


def main() -> None:
    print(f"rustconv {rustconv.__version__}: fast convolution, padding and pooling for NumPy")
    rustconv.show_config()
    textbook()
    speed()


if __name__ == "__main__":
    main()
