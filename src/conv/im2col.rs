//! Tiled im2col and its adjoint col2im.
//!
//! A tile covers output positions `p0 .. p0 + t` of one (sample, group); its
//! column matrix has one row per (input channel of the group, kernel tap) and
//! one column per output position. Which input element a (tap, position)
//! reads is tabulated once per call and per axis, so every padding mode
//! shares one loop and the hot loop has no division.
//!
//! Strided convolutions (zero padding, stride_w > 1) can gather from a
//! copy of the input split by column phase: each input row becomes
//! `stride_w` runs, run r holding columns r, r + stride_w, ... Every tap
//! then reads consecutive elements of one run, so the gather is a memcpy
//! instead of a strided scalar loop (measured on the (8, 3, 224, 224)→64
//! 7×7/2 first layer: the strided gather was 40 % of the forward pass and
//! the strided col2im 20 % of the backward pass).

use super::params::ConvGeometry;
use super::zero;
use crate::element::Real;
use crate::pad::{Boundary, source_index};

/// Marks a position in the zero-padded region.
const NONE: usize = usize::MAX;

/// For one axis, the source index of every (kernel tap, output position).
struct AxisMap {
    out: usize,
    src: Vec<usize>,
    /// First and one-past-last output position whose source is inside the
    /// axis, per tap (used by the zero-padding fast path).
    valid: Vec<(usize, usize)>,
}

impl AxisMap {
    fn new(g: &ConvGeometry, axis: usize, boundary: Boundary) -> Self {
        let (out, kernel) = (g.out_size[axis], g.kernel[axis]);
        let mut src = Vec::with_capacity(out * kernel);
        let mut valid = Vec::with_capacity(kernel);
        for k in 0..kernel {
            let (mut lo, mut hi) = (out, 0);
            for o in 0..out {
                // Validated sizes fit in isize (they are sizes of arrays).
                let pos = (o * g.stride[axis] + k * g.dilation[axis]) as isize
                    - g.pad_before[axis] as isize;
                let s = source_index(pos, g.in_size[axis], boundary).unwrap_or(NONE);
                if s != NONE && (0..g.in_size[axis] as isize).contains(&pos) {
                    lo = lo.min(o);
                    hi = hi.max(o + 1);
                }
                src.push(s);
            }
            valid.push(if lo < hi { (lo, hi) } else { (0, 0) });
        }
        AxisMap { out, src, valid }
    }

    #[inline]
    fn at(&self, k: usize, o: usize) -> usize {
        self.src[k * self.out + o]
    }
}

/// One run of consecutive output positions along W inside a tile.
#[derive(Clone, Copy)]
struct Segment {
    od: usize,
    oh: usize,
    ow: usize,
    len: usize,
    /// Column of the tile where the run starts.
    col: usize,
}

/// The tables for one convolution geometry.
pub struct Im2col {
    maps: [AxisMap; 3],
    in_plane: [usize; 3],
    in_volume: usize,
    zero_padded: bool,
    stride_w: usize,
    /// Column phases of the layout gather and scatter_add work on: 1 for
    /// the input as is, stride_w for the split layout (see module docs).
    phases: usize,
    /// Elements per phase run: ceil(W / phases).
    phase_len: usize,
    /// Elements per row of the layout (W, or phases × phase_len).
    row_len: usize,
    /// Input width W.
    width: usize,
    /// Rows per channel (D × H).
    rows_per_channel: usize,
}

impl Im2col {
    /// Tables for `g`, filling padding by `boundary`.
    pub fn new(g: &ConvGeometry, boundary: Boundary) -> Self {
        let maps = [
            AxisMap::new(g, 0, boundary),
            AxisMap::new(g, 1, boundary),
            AxisMap::new(g, 2, boundary),
        ];
        let [_, h, w] = g.in_size;
        Im2col {
            maps,
            in_plane: [h * w, w, 1],
            in_volume: g.in_size.iter().product(),
            // With zero padding, the in-bounds part of each run reads an
            // input row at a fixed step (a memcpy at stride 1), so the hot
            // loop needs no per-element table lookup or bounds test.
            zero_padded: boundary == Boundary::Constant,
            stride_w: g.stride[2],
            phases: 1,
            phase_len: w,
            row_len: w,
            width: w,
            rows_per_channel: g.in_size[0] * h,
        }
    }

    /// Switches gather and scatter_add to the column-split layout when it
    /// pays: zero padding, stride_w > 1 and more than one tap along W (a
    /// single tap reads each needed element once anyway). The direct
    /// kernels keep the plain layout, so only GEMM paths call this.
    pub fn with_column_split(mut self, g: &ConvGeometry) -> Self {
        let [_, h, w] = g.in_size;
        if self.zero_padded && self.stride_w > 1 && g.kernel[2] > 1 && w > 0 {
            self.phases = self.stride_w;
            self.phase_len = w.div_ceil(self.phases);
            self.row_len = self.phases * self.phase_len;
            self.in_plane = [h * self.row_len, self.row_len, 1];
            self.in_volume = g.in_size[0] * h * self.row_len;
        }
        self
    }

    /// Whether gather and scatter_add expect the column-split layout.
    pub fn splits(&self) -> bool {
        self.phases > 1
    }

    /// Elements of `channels` channels in the layout gather reads.
    pub fn layout_len(&self, channels: usize) -> usize {
        channels * self.in_volume
    }

    /// Position of input column `s` inside a row of the layout.
    #[inline]
    fn column(&self, s: usize) -> usize {
        if self.phases > 1 {
            (s % self.phases) * self.phase_len + s / self.phases
        } else {
            s
        }
    }

    /// Copies `x` (channels × D × H × W) into `split` in the column-split
    /// layout ([`Im2col::layout_len`] elements); slots past a row's last
    /// column are zeroed and never read.
    pub fn split_columns<T: Real>(&self, channels: usize, x: &[T], split: &mut [T]) {
        let width = self.width;
        let rows = channels * self.rows_per_channel;
        for (src, dst) in x
            .chunks_exact(width)
            .zip(split.chunks_exact_mut(self.row_len))
            .take(rows)
        {
            for (phase, run) in dst.chunks_exact_mut(self.phase_len).enumerate() {
                let mut filled = 0;
                for (d, &v) in run
                    .iter_mut()
                    .zip(src.iter().skip(phase).step_by(self.phases))
                {
                    *d = v;
                    filled += 1;
                }
                run[filled..].fill(zero::<T>());
            }
        }
    }

    /// The inverse of [`Im2col::split_columns`]: overwrites every element
    /// of `x` (channels × D × H × W) from `split`.
    pub fn merge_columns<T: Real>(&self, channels: usize, split: &[T], x: &mut [T]) {
        let width = self.width;
        let rows = channels * self.rows_per_channel;
        for (src, dst) in split
            .chunks_exact(self.row_len)
            .zip(x.chunks_exact_mut(width))
            .take(rows)
        {
            for (phase, run) in src.chunks_exact(self.phase_len).enumerate() {
                for (d, &v) in dst.iter_mut().skip(phase).step_by(self.phases).zip(run) {
                    *d = v;
                }
            }
        }
    }

    fn segments(&self, p0: usize, t: usize) -> Vec<Segment> {
        let (oh_, ow_) = (self.maps[1].out, self.maps[2].out);
        let mut out = Vec::new();
        let mut col = 0;
        let mut p = p0;
        while col < t {
            let ow = p % ow_;
            let oh = (p / ow_) % oh_;
            let od = p / (ow_ * oh_);
            let len = (ow_ - ow).min(t - col);
            out.push(Segment {
                od,
                oh,
                ow,
                len,
                col,
            });
            col += len;
            p += len;
        }
        out
    }

    /// Calls `f(row, segment, input_row_offset_or_NONE)` for every row of
    /// the column matrix and every segment of the tile.
    fn walk(
        &self,
        kernel: [usize; 3],
        channels: usize,
        segs: &[Segment],
        mut f: impl FnMut(usize, usize, &Segment, usize),
    ) {
        let mut row = 0;
        for ic in 0..channels {
            let base = ic * self.in_volume;
            for kd in 0..kernel[0] {
                for kh in 0..kernel[1] {
                    for kw in 0..kernel[2] {
                        for seg in segs {
                            let sd = self.maps[0].at(kd, seg.od);
                            let sh = self.maps[1].at(kh, seg.oh);
                            let offset = if sd == NONE || sh == NONE {
                                NONE
                            } else {
                                base + sd * self.in_plane[0] + sh * self.in_plane[1]
                            };
                            f(row, kw, seg, offset);
                        }
                        row += 1;
                    }
                }
            }
        }
    }

    /// Fills `col` (rows × t, row-major) from `x` (`channels` × input
    /// volume) for output positions `p0 .. p0 + t`.
    /// `x` is in the column-split layout when [`Im2col::splits`].
    pub fn gather<T: Real>(
        &self,
        g: &ConvGeometry,
        channels: usize,
        x: &[T],
        p0: usize,
        t: usize,
        col: &mut [T],
    ) {
        let segs = self.segments(p0, t);
        let map_w = &self.maps[2];
        self.walk(g.kernel, channels, &segs, |row, kw, seg, offset| {
            let dst = &mut col[row * t + seg.col..][..seg.len];
            if offset == NONE {
                dst.fill(zero::<T>());
                return;
            }
            let src = &x[offset..offset + self.row_len];
            if self.zero_padded {
                let (lo, hi) = map_w.valid[kw];
                let a = lo.clamp(seg.ow, seg.ow + seg.len);
                let b = hi.clamp(a, seg.ow + seg.len);
                dst[..a - seg.ow].fill(zero::<T>());
                if b > a {
                    let s = self.column(map_w.at(kw, a));
                    let run = &mut dst[a - seg.ow..b - seg.ow];
                    if self.stride_w == 1 || self.splits() {
                        run.copy_from_slice(&src[s..s + (b - a)]);
                    } else {
                        // Inside [a, b) every source exists: a plain strided copy.
                        for (d, &v) in run.iter_mut().zip(src[s..].iter().step_by(self.stride_w)) {
                            *d = v;
                        }
                    }
                }
                dst[b - seg.ow..].fill(zero::<T>());
            } else {
                let idx = &map_w.src[kw * map_w.out + seg.ow..][..seg.len];
                for (d, &s) in dst.iter_mut().zip(idx) {
                    *d = if s == NONE { zero::<T>() } else { src[s] };
                }
            }
        });
    }

    /// Adds `col` (rows × t) into `x` (`channels` × input volume): the
    /// adjoint of [`Im2col::gather`] for zero padding, in the same layout.
    /// The rows of one channel touch only that channel's plane, so a
    /// channel's rows may be scattered alone (`channels` = 1).
    pub fn scatter_add<T: Real>(
        &self,
        g: &ConvGeometry,
        channels: usize,
        col: &[T],
        p0: usize,
        t: usize,
        x: &mut [T],
    ) {
        let segs = self.segments(p0, t);
        let map_w = &self.maps[2];
        self.walk(g.kernel, channels, &segs, |row, kw, seg, offset| {
            if offset == NONE {
                return;
            }
            let src = &col[row * t + seg.col..][..seg.len];
            let dst = &mut x[offset..offset + self.row_len];
            if self.zero_padded {
                let (lo, hi) = map_w.valid[kw];
                let a = lo.clamp(seg.ow, seg.ow + seg.len);
                let b = hi.clamp(a, seg.ow + seg.len);
                if b > a {
                    let s = self.column(map_w.at(kw, a));
                    let run = &src[a - seg.ow..b - seg.ow];
                    if self.stride_w == 1 || self.splits() {
                        for (d, &v) in dst[s..s + (b - a)].iter_mut().zip(run) {
                            *d = *d + v;
                        }
                    } else {
                        for (d, &v) in dst[s..].iter_mut().step_by(self.stride_w).zip(run) {
                            *d = *d + v;
                        }
                    }
                }
            } else {
                let idx = &map_w.src[kw * map_w.out + seg.ow..][..seg.len];
                for (&s, &v) in idx.iter().zip(src) {
                    if s != NONE {
                        dst[s] = dst[s] + v;
                    }
                }
            }
        });
    }

    /// The direct path for one input channel: `out` (output volume) +=
    /// Σ over taps of `w[tap]` × the shifted plane `x` (input volume). Each
    /// output element sums its taps in kernel order.
    pub fn direct_accumulate<T: Real>(&self, g: &ConvGeometry, x: &[T], w: &[T], out: &mut [T]) {
        let [kd_, kh_, kw_] = g.kernel;
        let (oh_, ow_) = (self.maps[1].out, self.maps[2].out);
        let width = g.in_size[2];
        let map_w = &self.maps[2];
        for (r, out_row) in out.chunks_mut(ow_).enumerate() {
            let (od, oh) = (r / oh_, r % oh_);
            for kd in 0..kd_ {
                let sd = self.maps[0].at(kd, od);
                for kh in 0..kh_ {
                    let sh = self.maps[1].at(kh, oh);
                    if sd == NONE || sh == NONE {
                        continue;
                    }
                    let row = &x[sd * self.in_plane[0] + sh * self.in_plane[1]..][..width];
                    for kw in 0..kw_ {
                        let v = w[(kd * kh_ + kh) * kw_ + kw];
                        if self.zero_padded {
                            let (lo, hi) = map_w.valid[kw];
                            if hi <= lo {
                                continue;
                            }
                            let s = map_w.at(kw, lo);
                            let run = &mut out_row[lo..hi];
                            if self.stride_w == 1 {
                                for (o, &xv) in run.iter_mut().zip(&row[s..]) {
                                    *o = *o + v * xv;
                                }
                            } else {
                                for (o, &xv) in
                                    run.iter_mut().zip(row[s..].iter().step_by(self.stride_w))
                                {
                                    *o = *o + v * xv;
                                }
                            }
                        } else {
                            let idx = &map_w.src[kw * map_w.out..][..ow_];
                            for (o, &s) in out_row.iter_mut().zip(idx) {
                                if s != NONE {
                                    *o = *o + v * row[s];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`Im2col::direct_accumulate`] for zero padding:
    /// `x` (input volume) += Σ over taps of `w[tap]` × `out` scattered back.
    pub fn direct_adjoint<T: Real>(&self, g: &ConvGeometry, out: &[T], w: &[T], x: &mut [T]) {
        let [kd_, kh_, kw_] = g.kernel;
        let (oh_, ow_) = (self.maps[1].out, self.maps[2].out);
        let width = g.in_size[2];
        let map_w = &self.maps[2];
        for (r, out_row) in out.chunks(ow_).enumerate() {
            let (od, oh) = (r / oh_, r % oh_);
            for kd in 0..kd_ {
                let sd = self.maps[0].at(kd, od);
                for kh in 0..kh_ {
                    let sh = self.maps[1].at(kh, oh);
                    if sd == NONE || sh == NONE {
                        continue;
                    }
                    let row = &mut x[sd * self.in_plane[0] + sh * self.in_plane[1]..][..width];
                    for kw in 0..kw_ {
                        let v = w[(kd * kh_ + kh) * kw_ + kw];
                        let (lo, hi) = map_w.valid[kw];
                        if hi <= lo {
                            continue;
                        }
                        let s = map_w.at(kw, lo);
                        let run = &out_row[lo..hi];
                        if self.stride_w == 1 {
                            for (xv, &o) in row[s..].iter_mut().zip(run) {
                                *xv = *xv + v * o;
                            }
                        } else {
                            for (xv, &o) in row[s..].iter_mut().step_by(self.stride_w).zip(run) {
                                *xv = *xv + v * o;
                            }
                        }
                    }
                }
            }
        }
    }
}
