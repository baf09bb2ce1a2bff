//! Criterion benchmarks of rustconv's kernels, called directly through the
//! rlib (no Python, no argument conversion): a few representative kernels
//! per family, sized to run in seconds.
//!
//!     cargo bench --bench kernels                 # all of them
//!     cargo bench --bench kernels -- --quick      # a short run
//!     cargo bench --bench kernels -- conv2d       # one family
//!
//! The kernels run on Rayon's global pool (all cores), as the Python
//! bindings do with the default thread setting. The compute kernels report
//! their throughput in elements counted as FLOP (2 per multiply-add), so
//! criterion's `Gelem/s` reads as GFLOP/s; the memory-bound ones in bytes
//! read + written. `cargo bench --profile fastdev ...` skips the fat-LTO
//! link of the default bench profile when iterating. The Python suite
//! (`benches/suite.py`) compares the same families with other libraries.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array2, Array4, ArrayD, IxDyn};
use rustconv::conv::params::{ConvGeometry, Padding};
use rustconv::conv::{self, Path};
use rustconv::fft::{Blocking, fftconvolve};
use rustconv::pad::{Boundary, PadPlan};
use rustconv::params::Mode;
use rustconv::pool::{PoolGeometry, max_pool};
use rustconv::signal::params::{CorrelateParams, SameOrigin};
use rustconv::signal::plane::correlate_plane;
use std::hint::black_box;

/// Deterministic values in [-1, 1) without a random-number crate.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn image(h: usize, w: usize, seed: u64) -> Array2<f32> {
    Array2::from_shape_vec((h, w), values(h * w, seed)).expect("length is h * w")
}

/// correlate2d 'same' with zero fill on a 1024² image: the tiled SIMD engine.
fn signal_direct(c: &mut Criterion) {
    let n = 1024;
    let input = image(n, n, 1);
    let mut group = c.benchmark_group("correlate2d_same_1024");
    group.sample_size(10);
    for k in [3usize, 15] {
        let kernel = image(k, k, 2);
        let params = CorrelateParams::new(&[n, n], &[k, k], Mode::Same, SameOrigin::Left, false)
            .expect("valid geometry");
        group.throughput(Throughput::Elements((2 * n * n * k * k) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{k}x{k}")),
            &k,
            |b, _| {
                b.iter(|| {
                    correlate_plane(
                        &input.view(),
                        &kernel.view(),
                        &params,
                        Boundary::Constant,
                        0.0,
                    )
                    .expect("correlation runs")
                });
            },
        );
    }
    group.finish();
}

/// fftconvolve 'same', 1024² image with a 31×31 kernel, and 1-D 2^18 × 1001.
fn fft(c: &mut Criterion) {
    let mut group = c.benchmark_group("fftconvolve");
    group.sample_size(10);
    let big = image(1024, 1024, 3).into_dyn();
    let small = image(31, 31, 4).into_dyn();
    group.bench_function("2d_1024_31x31_same", |b| {
        b.iter(|| {
            fftconvolve(big.view(), small.view(), Mode::Same, None, Blocking::Auto)
                .expect("convolution runs")
        });
    });
    let signal = ArrayD::from_shape_vec(IxDyn(&[1 << 18]), values(1 << 18, 5)).expect("1-D");
    let taps = ArrayD::from_shape_vec(IxDyn(&[1001]), values(1001, 6)).expect("1-D");
    group.bench_function("1d_262144x1001_full", |b| {
        b.iter(|| {
            fftconvolve(signal.view(), taps.view(), Mode::Full, None, Blocking::Auto)
                .expect("convolution runs")
        });
    });
    group.finish();
}

/// conv2d forward of a deep layer, (4, 128, 28, 28) → 128, 3×3, padding 1.
fn conv2d(c: &mut Criterion) {
    let (batch, channels, size, k) = (4, 128, 28, 3);
    let (g, _) = ConvGeometry::forward(
        2,
        &[batch, channels, size, size],
        &[channels, channels, k, k],
        &[1, 1],
        &Padding::Explicit(vec![1, 1]),
        &[1, 1],
        1,
        Boundary::Constant,
    )
    .expect("valid geometry");
    let input = values(batch * channels * size * size, 7);
    let weight = values(channels * channels * k * k, 8);
    let bias = values(channels, 9);
    let out_len = batch * channels * g.out_spatial().iter().product::<usize>();
    let mut out = vec![0.0f32; out_len];
    let mut group = c.benchmark_group("conv2d_forward");
    group.sample_size(10);
    group.throughput(Throughput::Elements((2 * g.macs()) as u64));
    group.bench_function("4x128x28x28_to_128_3x3", |b| {
        b.iter(|| {
            conv::forward(
                &g,
                black_box(&input),
                &weight,
                Some(&bias),
                &mut out,
                Path::Gemm,
            )
        });
    });
    group.finish();
}

/// max_pool2d(3, 2, 1) on (8, 64, 112, 112): memory-bound.
fn pool(c: &mut Criterion) {
    let shape = [8usize, 64, 112, 112];
    let planes = shape[0] * shape[1];
    let g = PoolGeometry::new(
        planes,
        &shape[2..],
        &[3, 3],
        &[2, 2],
        &[1, 1],
        &[1, 1],
        false,
        "max_pool2d",
    )
    .expect("valid geometry");
    let input = values(shape.iter().product(), 10);
    // The output the bindings give the kernel: never initialised, since the
    // kernel writes every element.
    let mut out = rustconv::buffer::uninit::<f32>(planes * g.out_plane()).expect("memory");
    let mut group = c.benchmark_group("max_pool2d");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(
        ((input.len() + out.len()) * std::mem::size_of::<f32>()) as u64,
    ));
    group.bench_function("8x64x112x112_k3_s2_p1", |b| {
        b.iter(|| max_pool(&g, black_box(&input), &mut out, None));
    });
    group.finish();
}

/// pad reflect by 3 on the last two axes of (8, 64, 112, 112): memory-bound.
fn pad(c: &mut Criterion) {
    let shape = [8usize, 64, 112, 112];
    let input = Array4::from_shape_vec(shape, values(shape.iter().product(), 11))
        .expect("length matches")
        .into_dyn();
    let plan = PadPlan::forward(
        &shape,
        &[[0, 0], [0, 0], [3, 3], [3, 3]],
        Boundary::Reflect,
        "array",
    )
    .expect("valid plan");
    let constants = [[0.0f32; 2]; 4];
    let mut group = c.benchmark_group("pad_reflect");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(
        ((plan.in_len() + plan.out_len()) * std::mem::size_of::<f32>()) as u64,
    ));
    group.bench_function("8x64x112x112_by_3", |b| {
        b.iter(|| rustconv::pad::pad(&input.view(), &plan, &constants).expect("pad runs"));
    });
    group.finish();
}

criterion_group!(kernels, signal_direct, fft, conv2d, pool, pad);
criterion_main!(kernels);
