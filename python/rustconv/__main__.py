"""``python -m rustconv``: the textbook ideas, run on a synthetic image.

Family sections add themselves here as they land; each prints what it shows.
"""

from __future__ import annotations

import rustconv


def main() -> None:
    print(f"rustconv {rustconv.__version__}: fast convolution, padding and pooling for NumPy")
    rustconv.show_config()


if __name__ == "__main__":
    main()
