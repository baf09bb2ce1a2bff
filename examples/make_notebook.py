# The markdown cells are prose with typographic signs (×, −).
# ruff: noqa: RUF001
"""Build ``cnn_basics.ipynb`` from the cells below, without outputs.

The notebook is generated so that its source stays reviewable as plain Python
and the stored file never carries large outputs. After editing a cell here,
run ``python examples/make_notebook.py`` and commit both files;
tests/test_examples.py checks that they agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).resolve().parent / "cnn_basics.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        r"""
# Convolutional networks from the ground up, with rustconv

This notebook walks through the ideas behind a convolutional neural network (CNN), one operation at a
time, and computes every step with **rustconv**. Each result is checked against `scipy.signal` where scipy
has the operation, or against a few lines of NumPy where it does not, and drawn with matplotlib.
Everything runs on images the notebook draws itself: nothing is downloaded.

1. Convolution: slide a fixed kernel over the data and sum the products (1-D, then 2-D)
2. Kernels as filters: the Sobel filter finds edges
3. Activation (feature) maps
4. Stride
5. Padding and the output-size formula
6. Pooling: max, average and L2 norm
7. Many input channels and many kernels
8. Backpropagation: the gradient of a convolution is again a convolution
9. Training a small CNN on handwritten digits with rustconv alone
""",
    ),
    (
        "code",
        r"""
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal

import rustconv

print("rustconv", rustconv.__version__)
rng = np.random.default_rng(0)


def show(images, titles, cmap="gray", size=2.6, **kwargs):
    # Draw a row of images with their titles.
    _, axes = plt.subplots(1, len(images), figsize=(size * len(images), size))
    for ax, image, title in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(image, cmap=cmap, **kwargs)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    plt.show()
""",
    ),
    (
        "md",
        r"""
## 1. Convolution: slide a kernel, multiply, sum

Take a signal `x` and a short, fixed **kernel** `w` of length `K`. Put the kernel over the first `K`
samples, multiply what overlaps and add the products: that is the first output. Slide the kernel one
sample to the right and repeat. Written out,

$$y[m] = \sum_{j=0}^{K-1} x[m + j]\, w[j], \qquad m = 0, \dots, N - K.$$

Strictly this is a *cross-correlation*; a *convolution* flips the kernel first ($w[K-1-j]$). Every CNN
framework slides the kernel unflipped and still calls it convolution — the network learns the kernel, so
the flip does not matter to it. rustconv offers both conventions: `correlate`/`convolve` with scipy.signal's
signatures, and `conv1d`/`conv2d`/`conv3d` with PyTorch's.

Here a 9-sample moving average smooths a noisy sine wave.
""",
    ),
    (
        "code",
        r"""
t = np.linspace(0, 4 * np.pi, 200)
x = np.sin(t) + 0.3 * rng.standard_normal(t.size)
w = np.full(9, 1 / 9)  # moving average: every product weighs 1/9

# The definition, as a loop: slide, multiply, sum.
by_hand = np.array([np.sum(x[m : m + w.size] * w) for m in range(x.size - w.size + 1)])

smooth = rustconv.correlate(x, w, mode="valid")
np.testing.assert_allclose(smooth, by_hand, rtol=1e-12)
np.testing.assert_allclose(smooth, scipy.signal.correlate(x, w, mode="valid"), rtol=1e-12)
# convolve flips the kernel: with the flipped kernel it is the same thing.
np.testing.assert_allclose(rustconv.convolve(x, w[::-1], mode="valid"), smooth, rtol=1e-12)
# The CNN form: a batch of one signal with one channel, one kernel.
np.testing.assert_allclose(rustconv.conv1d(x[None, None], w[None, None])[0, 0], smooth, rtol=1e-12)
print("output length", smooth.size, "= N - K + 1 =", x.size - w.size + 1)

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(t, x, ".", color="0.6", label="signal x")
ax.plot(t[4:-4], smooth, lw=2, label="rustconv.correlate(x, w, 'valid')")
m = 60
ax.axvspan(t[m], t[m + w.size - 1], color="C1", alpha=0.2, label=f"the window giving y[{m}]")
ax.legend(loc="upper right", fontsize=8)
ax.set_xlabel("t")
plt.show()
""",
    ),
    (
        "md",
        r"""
### The same in 2-D

An image is a 2-D signal and the kernel a small 2-D patch: slide it over every position, multiply the
overlapping pixels with the kernel's weights and add them up. The textbook case: a 5×5 input and a 3×3
kernel give a 3×3 output, because the kernel fits in 5 − 3 + 1 = 3 positions along each axis.
""",
    ),
    (
        "code",
        r"""
image5 = np.array(
    [[3, 0, 1, 2, 7], [1, 5, 8, 9, 3], [2, 7, 2, 5, 1], [0, 1, 3, 1, 7], [4, 2, 1, 6, 2]], dtype=float
)
kernel3 = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])

by_hand = np.zeros((3, 3))
for i in range(3):
    for j in range(3):
        by_hand[i, j] = np.sum(image5[i : i + 3, j : j + 3] * kernel3)

out = rustconv.correlate2d(image5, kernel3, mode="valid")
np.testing.assert_allclose(out, by_hand)
np.testing.assert_allclose(out, scipy.signal.correlate2d(image5, kernel3, mode="valid"))
np.testing.assert_allclose(rustconv.conv2d(image5[None, None], kernel3[None, None])[0, 0], by_hand)
print(out)
""",
    ),
    (
        "md",
        r"""
## 2. Kernels as filters: Sobel finds edges

A kernel is a filter: its weights decide what it responds to. The **Sobel** kernel `[[1, 0, −1], [2, 0, −2],
[1, 0, −1]]` subtracts the pixels on the right from those on the left, so it answers strongly where the
brightness changes from left to right — at vertical edges — and gives 0 on flat regions. Its transpose finds
horizontal edges, and the length of the two answers together is the edge strength.

We draw a test image with a few shapes.
""",
    ),
    (
        "code",
        r"""
def make_shapes(size=64):
    # A square, a disc and a triangle of different brightness on a dark background.
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.zeros((size, size))
    image[(xx > 0.1) & (xx < 0.4) & (yy > 0.1) & (yy < 0.4)] = 1.0
    image[(xx - 0.7) ** 2 + (yy - 0.3) ** 2 < 0.18**2] = 0.6
    image[(yy > 0.55) & (yy < 0.9) & (np.abs(xx - 0.45) < (yy - 0.55))] = 0.8
    return image


image = make_shapes()
sobel_x = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
sobel_y = sobel_x.T

edges_x = rustconv.correlate2d(image, sobel_x, mode="same", boundary="symm")
edges_y = rustconv.correlate2d(image, sobel_y, mode="same", boundary="symm")
for edges, kernel in [(edges_x, sobel_x), (edges_y, sobel_y)]:
    reference = scipy.signal.correlate2d(image, kernel, mode="same", boundary="symm")
    np.testing.assert_allclose(edges, reference, atol=1e-12)
magnitude = np.hypot(edges_x, edges_y)

blur = np.full((5, 5), 1 / 25)
blurred = rustconv.convolve2d(image, blur, mode="same")
np.testing.assert_allclose(blurred, scipy.signal.convolve2d(image, blur, mode="same"), atol=1e-12)

show(
    [image, edges_x, edges_y, magnitude, blurred],
    ["image", "Sobel x", "Sobel y", "edge strength", "5x5 blur"],
)
""",
    ),
    (
        "md",
        r"""
## 3. Activation (feature) maps

In a CNN layer the kernels are the layer's **weights**, a bias is added, and a non-linearity — usually the
ReLU, max(0, ·) — is applied. Each kernel's output over the whole image is an **activation map** (or
feature map): it lights up where the image contains what the kernel looks for. `rustconv.conv2d` takes a
batch of images `(N, C_in, H, W)` and a stack of kernels `(C_out, C_in, K_h, K_w)` and returns
`(N, C_out, H_out, W_out)`.

Here four hand-made kernels play the role of learned ones. Sobel x is positive where the left side is
brighter than the right, so after the ReLU it keeps only the right-hand edges of bright shapes; its negation
keeps the left-hand edges; Sobel y keeps the lower edges; the last kernel answers at corners.
""",
    ),
    (
        "code",
        r"""
corner = np.outer([1.0, 0.0, -1.0], [1.0, 0.0, -1.0])
weight = np.stack([sobel_x, -sobel_x, sobel_y, corner])[:, None]  # (C_out=4, C_in=1, 3, 3)
bias = np.full(4, -0.5)  # a negative bias silences weak answers
batch = image[None, None]  # (N=1, C_in=1, 64, 64)

pre_activation = rustconv.conv2d(batch, weight, bias)
activation = np.maximum(pre_activation, 0)  # ReLU
print("input", batch.shape, "weight", weight.shape, "→ activation maps", activation.shape)

for c in range(4):
    reference = scipy.signal.correlate2d(image, weight[c, 0], mode="valid") + bias[c]
    np.testing.assert_allclose(pre_activation[0, c], reference, atol=1e-12)

show(list(activation[0]), ["right-hand edges", "left-hand edges", "lower edges", "corners"], cmap="magma")
""",
    ),
    (
        "md",
        r"""
## 4. Stride

The **stride** is the step by which the kernel moves. Stride 2 visits every other position, so the output
is about half as large along each axis, and it costs a quarter of the work: it is exactly the stride-1
output with every other row and column dropped.
""",
    ),
    (
        "code",
        r"""
strided = rustconv.conv2d(batch, weight, bias, stride=2)
print("stride 1:", pre_activation.shape[2:], " stride 2:", strided.shape[2:])
np.testing.assert_allclose(strided, pre_activation[:, :, ::2, ::2], atol=1e-12)
show(
    [pre_activation[0, 0], strided[0, 0]],
    [
        f"stride 1: {pre_activation.shape[2]}x{pre_activation.shape[3]}",
        f"stride 2: {strided.shape[2]}x{strided.shape[3]}",
    ],
    cmap="magma",
)
""",
    ),
    (
        "md",
        r"""
## 5. Padding and the output size

Without padding a K×K kernel fits in **O = H − K + 1** positions along an axis of length H, so every layer
shrinks the image and the border pixels take part in fewer products than the centre ones. **Padding** adds
P pixels around the input (usually zeros) first; with P = (K − 1)/2 and stride 1 the output keeps the
input's size. The general formula, with stride S and dilation D (gaps between the kernel's taps), is

$$O = \left\lfloor \frac{H + 2P - D(K - 1) - 1}{S} \right\rfloor + 1,$$

which `rustconv.conv_output_shape` computes.
""",
    ),
    (
        "code",
        r"""
padded_out = rustconv.conv2d(batch, weight[:1], padding=1)
print("padding 1 keeps the size:", batch.shape[2:], "→", padded_out.shape[2:])

# Zero padding then a 'valid' convolution is the same thing, and it is scipy's 'same' mode.
zero_padded = rustconv.pad(image, 1, mode="constant")
np.testing.assert_array_equal(zero_padded, np.pad(image, 1, mode="constant"))
np.testing.assert_allclose(
    padded_out[0, 0], rustconv.correlate2d(zero_padded, sobel_x, mode="valid"), atol=1e-12
)
np.testing.assert_allclose(
    padded_out[0, 0], scipy.signal.correlate2d(image, sobel_x, mode="same"), atol=1e-12
)


def formula(h, k, s=1, p=0, d=1):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


print(f"{'H':>4} {'K':>3} {'S':>3} {'P':>3} {'D':>3} {'formula':>8} {'rustconv':>9} {'conv2d':>7}")
for h, k, s, p, d in [
    (5, 3, 1, 0, 1),
    (64, 3, 1, 1, 1),
    (64, 3, 2, 1, 1),
    (64, 5, 2, 0, 1),
    (64, 3, 1, 2, 2),
    (28, 5, 3, 2, 1),
]:
    (o_h, _) = rustconv.conv_output_shape((h, h), k, stride=s, padding=p, dilation=d)
    measured = rustconv.conv2d(
        np.zeros((1, 1, h, h)), np.zeros((1, 1, k, k)), stride=s, padding=p, dilation=d
    ).shape[2]
    assert o_h == formula(h, k, s, p, d) == measured
    print(f"{h:>4} {k:>3} {s:>3} {p:>3} {d:>3} {formula(h, k, s, p, d):>8} {o_h:>9} {measured:>7}")
""",
    ),
    (
        "md",
        r"""
Zeros are not the only way to fill the border. `rustconv.pad` follows `numpy.pad` and also accepts PyTorch's
names (`'replicate'` for `'edge'`, `'circular'` for `'wrap'`).
""",
    ),
    (
        "code",
        r"""
patch = blurred[2:22, 2:22]  # the soft top-left corner of the square
modes = ["constant", "edge", "reflect", "symmetric", "wrap"]
fig, axes = plt.subplots(1, len(modes), figsize=(11, 2.4))
for ax, mode in zip(axes, modes):
    padded = rustconv.pad(patch, 8, mode=mode)
    np.testing.assert_array_equal(padded, np.pad(patch, 8, mode=mode))
    ax.imshow(padded, cmap="gray", vmin=0, vmax=1)
    ax.add_patch(plt.Rectangle((7.5, 7.5), 20, 20, fill=False, color="C1", lw=1.5))  # the original patch
    ax.set_title(mode, fontsize=10)
    ax.axis("off")
plt.show()
""",
    ),
    (
        "md",
        r"""
## 6. Pooling: max, average and L2 norm

**Pooling** (sub-sampling) shrinks a feature map by summarising each small window — usually 2×2 with
stride 2, which halves each axis. **Max pooling** keeps the strongest answer in the window (the feature is
*somewhere* here), **average pooling** its mean, and **L2-norm pooling** $\sqrt{\sum x^2}$ sits between the
two. Pooling has no weights. scipy has no pooling, so the check here is NumPy: cut the map into 2×2 blocks
with a reshape and reduce each block.
""",
    ),
    (
        "code",
        r"""
feature = magnitude[None, None]  # (1, 1, 64, 64): the Sobel edge strength
max_pooled = rustconv.max_pool2d(feature, 2)
avg_pooled = rustconv.avg_pool2d(feature, 2)
l2_pooled = rustconv.lp_pool2d(feature, 2, 2)  # norm_type=2, kernel_size=2
print("pooling 2x2 / 2:", feature.shape, "→", max_pooled.shape)
print("pool_output_shape:", rustconv.pool_output_shape(feature.shape, 2))

blocks = magnitude.reshape(32, 2, 32, 2)
np.testing.assert_allclose(max_pooled[0, 0], blocks.max(axis=(1, 3)))
np.testing.assert_allclose(avg_pooled[0, 0], blocks.mean(axis=(1, 3)), atol=1e-12)
np.testing.assert_allclose(l2_pooled[0, 0], np.sqrt((blocks**2).sum(axis=(1, 3))), atol=1e-12)

# Overlapping windows (3x3, stride 2, padding 1), as in many networks.
overlapping = rustconv.max_pool2d(feature, 3, stride=2, padding=1)
print("pooling 3x3 / 2, padding 1:", overlapping.shape[2:])

show(
    [magnitude, max_pooled[0, 0], avg_pooled[0, 0], l2_pooled[0, 0], overlapping[0, 0]],
    ["edges 64x64", "max 2x2", "average 2x2", "L2 norm 2x2", "max 3x3 / 2"],
    cmap="magma",
)
""",
    ),
    (
        "md",
        r"""
## 7. Many input channels, many kernels

A colour image has three channels (red, green, blue), and every hidden layer has many. A kernel then has
one 2-D slice per input channel: the layer convolves each channel with its own slice and **adds the
results** into one output map. With several kernels — a weight of shape `(C_out, C_in, K, K)` — the
output has one channel per kernel.
""",
    ),
    (
        "code",
        r"""
rgb = np.stack([image * 1.0, np.roll(image, 5, axis=1) * 0.8, image[::-1] * 0.6])  # (3, 64, 64)
one_kernel = rng.standard_normal((1, 3, 3, 3))  # one kernel: a 3x3 slice per input channel
out_one = rustconv.conv2d(rgb[None], one_kernel)
summed = sum(scipy.signal.correlate2d(rgb[c], one_kernel[0, c], mode="valid") for c in range(3))
np.testing.assert_allclose(out_one[0, 0], summed, atol=1e-10)

many_kernels = rng.standard_normal((6, 3, 3, 3))  # six kernels: six output channels
out_many = rustconv.conv2d(rgb[None], many_kernels)
print("input", rgb[None].shape, "weight", many_kernels.shape, "→ output", out_many.shape)
for k in range(6):
    per_channel = sum(scipy.signal.correlate2d(rgb[c], many_kernels[k, c], mode="valid") for c in range(3))
    np.testing.assert_allclose(out_many[0, k], per_channel, atol=1e-10)

show(
    [np.moveaxis(rgb, 0, -1).clip(0, 1), *out_many[0, :4]],
    ["RGB input", *[f"output channel {k}" for k in range(4)]],
)
""",
    ),
    (
        "md",
        r"""
## 8. Backpropagation: the gradient of a convolution is a convolution

To train a network we need, for every layer, the gradient of the loss with respect to its weights (to
update them) and with respect to its input (to pass the gradient on to the layer before). For
$y = x \star w$ (the 'valid' cross-correlation above) and an upstream gradient $g = \partial L / \partial y$:

* the weight gradient is the input **cross-correlated with g**: $\partial L/\partial w = x \star g$;
* the input gradient is g **fully convolved with the kernel**: $\partial L/\partial x = g * w$ (mode 'full'),
  i.e. the kernel flipped and slid over g padded with zeros.

So the backward pass is made of convolutions too. `rustconv.conv2d_backward` returns all three gradients
(input, weight, bias) in one call; here we check them against scipy's convolutions and against finite
differences of the loss $L = \tfrac12 \lVert y - t \rVert^2$.
""",
    ),
    (
        "code",
        r"""
x = rng.standard_normal((1, 1, 12, 12))
w = rng.standard_normal((1, 1, 3, 3))
target = rng.standard_normal((1, 1, 10, 10))


def loss(x, w):
    return 0.5 * np.sum((rustconv.conv2d(x, w) - target) ** 2)


g = rustconv.conv2d(x, w) - target  # dL/dy
grad_x, grad_w, grad_b = rustconv.conv2d_backward(g, x, w)

# The gradients are convolutions:
np.testing.assert_allclose(grad_w[0, 0], scipy.signal.correlate2d(x[0, 0], g[0, 0], mode="valid"), atol=1e-10)
np.testing.assert_allclose(grad_x[0, 0], scipy.signal.convolve2d(g[0, 0], w[0, 0], mode="full"), atol=1e-10)
np.testing.assert_allclose(grad_b, [g.sum()], atol=1e-10)
# ... which rustconv's own signal functions compute as well:
np.testing.assert_allclose(grad_x[0, 0], rustconv.convolve2d(g[0, 0], w[0, 0], mode="full"), atol=1e-10)


# Finite differences: nudge each weight by ±eps and watch the loss.
def numeric_gradient(f, a, eps=1e-6):
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        a_plus, a_minus = a.copy(), a.copy()
        a_plus[index] += eps
        a_minus[index] -= eps
        grad[index] = (f(a_plus) - f(a_minus)) / (2 * eps)
    return grad


np.testing.assert_allclose(grad_w, numeric_gradient(lambda w_: loss(x, w_), w), rtol=1e-6, atol=1e-6)
np.testing.assert_allclose(grad_x, numeric_gradient(lambda x_: loss(x_, w), x), rtol=1e-6, atol=1e-6)
print("conv2d_backward agrees with scipy's convolutions and with finite differences")
show(
    [x[0, 0], g[0, 0], grad_x[0, 0], grad_w[0, 0]],
    ["input x", "upstream g", "dL/dx = g * w (full)", "dL/dw = x ⋆ g"],
    cmap="coolwarm",
)
""",
    ),
    (
        "md",
        r"""
The same holds with stride, padding and many channels — the gradient is then a strided ('dilated') or
padded convolution, which `conv2d_backward` handles. A random directional derivative checks all entries
at once. Max pooling's gradient goes to the one input that won each window, which
`max_pool2d_backward` routes with the indices the forward pass returned.
""",
    ),
    (
        "code",
        r"""
x = rng.standard_normal((2, 3, 11, 11))
w = rng.standard_normal((4, 3, 3, 3))
b = rng.standard_normal(4)
geometry = dict(stride=2, padding=1)
g = rng.standard_normal(rustconv.conv2d(x, w, b, **geometry).shape)
grad_x, grad_w, grad_b = rustconv.conv2d_backward(g, x, w, **geometry)

# <g, conv(x + e·dx, w + e·dw, b + e·db)> changes at the rate <grad_x, dx> + <grad_w, dw> + <grad_b, db>.
dx, dw, db = rng.standard_normal(x.shape), rng.standard_normal(w.shape), rng.standard_normal(b.shape)
eps = 1e-6
f = lambda e: np.sum(g * rustconv.conv2d(x + e * dx, w + e * dw, b + e * db, **geometry))  # noqa: E731
numeric = (f(eps) - f(-eps)) / (2 * eps)
analytic = np.sum(grad_x * dx) + np.sum(grad_w * dw) + np.sum(grad_b * db)
print(f"directional derivative: finite differences {numeric:.8f}, conv2d_backward {analytic:.8f}")
assert abs(numeric - analytic) < 1e-6 * max(1.0, abs(analytic))

pooled, indices = rustconv.max_pool2d(x, 2, return_indices=True)
g_pool = rng.standard_normal(pooled.shape)
grad_pool = rustconv.max_pool2d_backward(g_pool, indices, x.shape)
numeric = (
    np.sum(g_pool * rustconv.max_pool2d(x + eps * dx, 2))
    - np.sum(g_pool * rustconv.max_pool2d(x - eps * dx, 2))
) / (2 * eps)
assert abs(numeric - np.sum(grad_pool * dx)) < 1e-6 * max(1.0, abs(numeric))
print("max_pool2d_backward agrees with finite differences")
""",
    ),
    (
        "md",
        r"""
## 9. Training a CNN with rustconv alone

`train_digits.py` (next to this notebook) puts it all together: a small network
conv → ReLU → max-pool → conv → ReLU → max-pool → dense, trained on scikit-learn's bundled 8×8 handwritten
digits. rustconv computes every convolution and pooling step, forward and backward; NumPy does the ReLU,
the dense layer, the softmax cross-entropy and the Adam update. There is no autograd library: the backward
pass is written out by hand in `SmallCNN.backward`. With a fixed seed it reaches about 98% accuracy on a
held-out 20% of the digits in a few seconds. From a terminal: `python train_digits.py --epochs 15`.
""",
    ),
    (
        "code",
        r"""
from train_digits import load_digits_split, plot_learning_curve, train

result = train(epochs=15, progress=False)
print(
    f"held-out accuracy {result.test_accuracy[-1]:.1%} after {len(result.epochs)} epochs in {result.seconds:.1f} s"
)
assert result.test_accuracy[-1] >= 0.97
plot_learning_curve(result)
""",
    ),
    (
        "code",
        r"""
from train_digits import SmallCNN

model = SmallCNN()
model.params = result.params
_, _, x_test, y_test = load_digits_split()
predicted = model.predict(x_test[:12]).argmax(axis=1)
show(
    list(x_test[:12, 0]), [f"{p} (true {t})" for p, t in zip(predicted, y_test[:12])], size=1.2, cmap="gray_r"
)
show(list(result.params["w1"][:8, 0]), [f"kernel {k}" for k in range(8)], size=1.2, cmap="coolwarm")
""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    cells = [
        new_markdown_cell(source.strip()) if kind == "md" else new_code_cell(source.strip())
        for kind, source in CELLS
    ]
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def main() -> None:
    nbformat.write(build(), NOTEBOOK)
    print(f"wrote {NOTEBOOK}", file=sys.stderr)


if __name__ == "__main__":
    main()
