"""Draw the README's quick-start picture: Sobel edges and max / average pooling, computed with rustconv.

python examples/quickstart_figures.py            # writes docs/quickstart.png
python examples/quickstart_figures.py --out DIR  # writes DIR/quickstart.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import rustconv

DOCS = Path(__file__).resolve().parent.parent / "docs"


def make_shapes(size: int = 64) -> np.ndarray:
    """A square, a disc and a triangle of different brightness on a dark background."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.zeros((size, size))
    image[(xx > 0.1) & (xx < 0.4) & (yy > 0.1) & (yy < 0.4)] = 1.0
    image[(xx - 0.7) ** 2 + (yy - 0.3) ** 2 < 0.18**2] = 0.6
    image[(yy > 0.55) & (yy < 0.9) & (np.abs(xx - 0.45) < (yy - 0.55))] = 0.8
    return image


def quickstart_panels() -> list[tuple[str, np.ndarray]]:
    """The README's quick-start computation, returned as (title, image) panels."""
    image = make_shapes()
    sobel_x = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    # The signal family: scipy.signal.correlate2d's signature and results.
    edges_x = rustconv.correlate2d(image, sobel_x, mode="same", boundary="symm")
    edges_y = rustconv.correlate2d(image, sobel_x.T, mode="same", boundary="symm")
    edges = np.hypot(edges_x, edges_y)
    # The CNN family: torch.nn.functional's semantics on a (N, C, H, W) batch.
    batch = edges[None, None]
    max_pooled = rustconv.max_pool2d(batch, 2)[0, 0]
    avg_pooled = rustconv.avg_pool2d(batch, 4)[0, 0]
    return [
        ("image 64x64", image),
        ("Sobel x", edges_x),
        ("edge strength", edges),
        ("max_pool2d 2x2 → 32x32", max_pooled),
        ("avg_pool2d 4x4 → 16x16", avg_pooled),
    ]


def make_figures(out_dir: str | Path = DOCS) -> list[Path]:
    """Save the quick-start picture(s) as PNG in ``out_dir`` and return their paths."""
    # A bare Figure renders without any GUI backend.
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    panels = quickstart_panels()
    fig = Figure(figsize=(2.2 * len(panels), 2.45), layout="constrained")
    for ax, (title, image) in zip(fig.subplots(1, len(panels)), panels):
        ax.imshow(image, cmap="gray" if title.startswith(("image", "Sobel")) else "magma")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    path = out_dir / "quickstart.png"
    # Few colours and a modest resolution keep the committed picture small.
    fig.savefig(path, dpi=64)
    return [path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw the README's quick-start picture with rustconv.")
    parser.add_argument("--out", type=Path, default=DOCS, help=f"output directory ({DOCS})")
    args = parser.parse_args(argv)
    for path in make_figures(args.out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
