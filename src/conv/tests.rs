//! Every fast path against the naive reference, over odd sizes, with
//! outputs pre-filled with NaN.

use super::params::{ConvGeometry, Padding};
use super::*;

/// A small deterministic pseudo-random sequence (no dependency needed).
fn data(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        })
        .collect()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
            "{what}: index {i}: {x} vs {y}"
        );
    }
}

struct Case {
    input: Vec<usize>,
    weight: Vec<usize>,
    stride: Vec<i64>,
    padding: Padding,
    dilation: Vec<i64>,
    groups: i64,
    boundary: Boundary,
}

fn cases() -> Vec<Case> {
    let c = |input: &[usize],
             weight: &[usize],
             s: i64,
             p: Padding,
             d: i64,
             groups: i64,
             boundary: Boundary| {
        let rank = weight.len() - 2;
        Case {
            input: input.to_vec(),
            weight: weight.to_vec(),
            stride: vec![s; rank],
            padding: p,
            dilation: vec![d; rank],
            groups,
            boundary,
        }
    };
    let e = |v: i64, rank: usize| Padding::Explicit(vec![v; rank]);
    vec![
        c(
            &[2, 3, 11],
            &[5, 3, 3],
            1,
            e(1, 1),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[1, 4, 13],
            &[6, 2, 4],
            3,
            e(2, 1),
            2,
            2,
            Boundary::Constant,
        ),
        c(
            &[2, 3, 7, 9],
            &[4, 3, 3, 2],
            1,
            Padding::Same,
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 3, 7, 9],
            &[4, 3, 3, 2],
            1,
            Padding::Same,
            2,
            1,
            Boundary::Reflect,
        ),
        c(
            &[3, 4, 9, 8],
            &[4, 1, 3, 3],
            2,
            e(1, 2),
            1,
            4,
            Boundary::Constant,
        ),
        c(
            &[1, 4, 9, 8],
            &[8, 2, 2, 3],
            4,
            e(0, 2),
            1,
            2,
            Boundary::Constant,
        ),
        c(
            &[2, 5, 6, 7],
            &[3, 5, 1, 1],
            1,
            e(0, 2),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 5, 6, 7],
            &[3, 5, 1, 1],
            2,
            e(1, 2),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 2, 5, 6],
            &[3, 2, 3, 3],
            1,
            e(2, 2),
            1,
            1,
            Boundary::Wrap,
        ),
        c(
            &[2, 2, 5, 6],
            &[3, 2, 3, 3],
            2,
            e(3, 2),
            1,
            1,
            Boundary::Edge,
        ),
        c(
            &[1, 2, 4, 5, 6],
            &[3, 2, 2, 3, 2],
            1,
            e(1, 3),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 2, 5, 4, 6],
            &[2, 1, 3, 1, 2],
            2,
            e(1, 3),
            2,
            2,
            Boundary::Reflect,
        ),
        c(&[0, 2, 5], &[3, 2, 3], 1, e(0, 1), 1, 1, Boundary::Constant),
        // Many output positions: several im2col tiles.
        c(
            &[2, 3, 70, 61],
            &[4, 3, 3, 3],
            1,
            e(1, 2),
            1,
            1,
            Boundary::Constant,
        ),
        // Column-split gathers (stride_w > 1, zero padding): a first
        // layer with odd width, stride 3 with dilation, grouped, and one
        // spanning several tiles.
        c(
            &[2, 3, 23, 19],
            &[5, 3, 7, 7],
            2,
            e(3, 2),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[1, 2, 17, 29],
            &[3, 2, 3, 5],
            3,
            e(2, 2),
            2,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 4, 11, 13],
            &[6, 2, 3, 4],
            2,
            e(1, 2),
            1,
            2,
            Boundary::Constant,
        ),
        c(
            &[1, 3, 150, 131],
            &[4, 3, 7, 7],
            2,
            e(3, 2),
            1,
            1,
            Boundary::Constant,
        ),
        c(
            &[2, 3, 9, 10, 11],
            &[2, 3, 2, 3, 3],
            2,
            e(1, 3),
            1,
            1,
            Boundary::Constant,
        ),
    ]
}

/// The indices of [`cases`] whose GEMM path gathers from a column-split
/// copy of the input.
fn split_cases() -> Vec<usize> {
    cases()
        .iter()
        .enumerate()
        .filter(|(_, case)| {
            let g = geometry(case);
            !g.is_pointwise()
                && im2col::Im2col::new(&g, Boundary::Constant)
                    .with_column_split(&g)
                    .splits()
        })
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn column_split_cases_exist() {
    // The new cases above (and the older strided ones) must exercise it.
    assert!(split_cases().len() >= 5, "{:?}", split_cases());
}

#[test]
fn column_split_round_trips() {
    let case = &cases()[14];
    let g = geometry(case);
    let im = im2col::Im2col::new(&g, Boundary::Constant).with_column_split(&g);
    assert!(im.splits());
    let channels = g.in_per_group();
    let x = data(channels * g.in_size.iter().product::<usize>(), 11);
    let mut split = vec![f64::NAN; im.layout_len(channels)];
    im.split_columns(channels, &x, &mut split);
    let mut back = vec![f64::NAN; x.len()];
    im.merge_columns(channels, &split, &mut back);
    assert_eq!(back, x);
}

#[test]
fn column_split_paths_are_bitwise_stable_across_threads() {
    for i in split_cases() {
        let case = &cases()[i];
        let g = geometry(case);
        let to32 = |v: Vec<f64>| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let x = to32(data(case.input.iter().product(), 21));
        let w = to32(data(case.weight.iter().product(), 22));
        let dy = to32(data(out_len(&g), 23));
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let mut y = vec![f32::NAN; out_len(&g)];
            let mut dx = vec![f32::NAN; x.len()];
            let mut dw = vec![f32::NAN; w.len()];
            let mut db = vec![f32::NAN; g.out_channels];
            crate::threads::run(threads, || {
                forward(&g, &x, &w, None, &mut y, Path::Gemm);
                backward(&g, &x, &w, &dy, &mut dx, &mut dw, &mut db, Path::Gemm)
            })
            .unwrap()
            .unwrap();
            results.push((y, dx, dw));
        }
        assert!(results[0] == results[1], "case {i}, 1 vs 2 threads");
        assert!(results[0] == results[2], "case {i}, 1 vs 3 threads");
    }
}

fn geometry(case: &Case) -> ConvGeometry {
    ConvGeometry::forward(
        case.weight.len() - 2,
        &case.input,
        &case.weight,
        &case.stride,
        &case.padding,
        &case.dilation,
        case.groups,
        case.boundary,
    )
    .unwrap()
    .0
}

fn out_len(g: &ConvGeometry) -> usize {
    g.batch * g.out_channels * g.out_size.iter().product::<usize>()
}

#[test]
fn forward_matches_reference() {
    for (i, case) in cases().iter().enumerate() {
        let g = geometry(case);
        let x = data(case.input.iter().product(), 1 + i as u64);
        let w = data(case.weight.iter().product(), 100 + i as u64);
        let b = data(g.out_channels, 200);
        for bias in [None, Some(b.as_slice())] {
            let mut want = vec![f64::NAN; out_len(&g)];
            let mut got = vec![f64::NAN; out_len(&g)];
            forward(&g, &x, &w, bias, &mut want, Path::Reference);
            for path in [Path::Gemm, Path::Direct] {
                got.fill(f64::NAN);
                crate::threads::run(2, || forward(&g, &x, &w, bias, &mut got, path)).unwrap();
                close(&got, &want, &format!("forward case {i} {path:?}"));
            }
        }
    }
}

#[test]
fn gradients_match_reference() {
    for (i, case) in cases().iter().enumerate() {
        if case.boundary != Boundary::Constant {
            continue;
        }
        let g = geometry(case);
        let x = data(case.input.iter().product(), 1 + i as u64);
        let w = data(case.weight.iter().product(), 100 + i as u64);
        let dy = data(out_len(&g), 300 + i as u64);
        let mut want_dx = vec![f64::NAN; x.len()];
        let mut want_dw = vec![f64::NAN; w.len()];
        reference::input_grad(&g, &w, &dy, &mut want_dx);
        reference::weight_grad(&g, &x, &dy, &mut want_dw);
        for threads in [1, 3] {
            let mut dx = vec![f64::NAN; x.len()];
            let mut dw = vec![f64::NAN; w.len()];
            crate::threads::run(threads, || input_grad(&g, &w, &dy, &mut dx, Path::Direct))
                .unwrap();
            close(&dx, &want_dx, &format!("direct input_grad case {i}"));
            dx.fill(f64::NAN);
            crate::threads::run(threads, || input_grad(&g, &w, &dy, &mut dx, Path::Gemm)).unwrap();
            close(&dx, &want_dx, &format!("input_grad case {i}"));
            crate::threads::run(threads, || weight_grad(&g, &x, &dy, &mut dw, Path::Gemm))
                .unwrap()
                .unwrap();
            close(&dw, &want_dw, &format!("weight_grad case {i}"));
            let mut dx2 = vec![f64::NAN; x.len()];
            let mut dw2 = vec![f64::NAN; w.len()];
            let mut db = vec![f64::NAN; g.out_channels];
            crate::threads::run(threads, || {
                backward(&g, &x, &w, &dy, &mut dx2, &mut dw2, &mut db, Path::Gemm)
            })
            .unwrap()
            .unwrap();
            assert_eq!(dx2, dx, "backward's input gradient, case {i}");
            assert_eq!(dw2, dw, "backward's weight gradient, case {i}");
            for (oc, &v) in db.iter().enumerate() {
                let plane: usize = g.out_size.iter().product();
                let mut s = 0.0;
                for n in 0..g.batch {
                    s += dy[(n * g.out_channels + oc) * plane..][..plane]
                        .iter()
                        .sum::<f64>();
                }
                assert!((v - s).abs() < 1e-10, "bias gradient case {i}");
            }
        }
    }
}

#[test]
fn weight_gradient_is_bitwise_stable_across_threads() {
    let case = &cases()[13];
    let g = geometry(case);
    let x: Vec<f32> = data(case.input.iter().product(), 5)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let dy: Vec<f32> = data(out_len(&g), 6).iter().map(|&v| v as f32).collect();
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let mut dw = vec![f32::NAN; case.weight.iter().product()];
        crate::threads::run(threads, || weight_grad(&g, &x, &dy, &mut dw, Path::Gemm))
            .unwrap()
            .unwrap();
        results.push(dw);
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
}

#[test]
fn transposed_matches_adjoint_reference() {
    let (g, _) = ConvGeometry::transposed(
        2,
        &[2, 4, 5, 3],
        &[4, 3, 3, 2],
        &[2, 3],
        &[1, 0],
        &[1, 2],
        2,
        &[1, 1],
    )
    .unwrap();
    let x = data(2 * 4 * 5 * 3, 7);
    let w = data(4 * 3 * 3 * 2, 8);
    let b = data(g.in_channels, 9);
    let len = g.batch * g.in_channels * g.in_size.iter().product::<usize>();
    let mut want = vec![f64::NAN; len];
    let mut got = vec![f64::NAN; len];
    transposed(&g, &x, &w, Some(&b), &mut want, Path::Reference);
    transposed(&g, &x, &w, Some(&b), &mut got, Path::Gemm);
    close(&got, &want, "transposed");
}

/// Geometries the few-channel kernels accept: one input channel per
/// group, several outputs each; odd widths (masked tails), output rows
/// wider than one 24-column strip, stride along H, dilation, explicit,
/// 'same' (even kernel: uneven padding) and large padding, groups, 1-D,
/// and every padding mode for the forward pass.
fn few_cases() -> Vec<Case> {
    let case = |input: &[usize],
                weight: &[usize],
                stride: &[i64],
                padding: Padding,
                dilation: &[i64],
                groups: i64,
                boundary: Boundary| Case {
        input: input.to_vec(),
        weight: weight.to_vec(),
        stride: stride.to_vec(),
        padding,
        dilation: dilation.to_vec(),
        groups,
        boundary,
    };
    let e = |v: &[i64]| Padding::Explicit(v.to_vec());
    vec![
        // Output rows of exactly one and of four 16-lane vectors.
        case(
            &[2, 1, 5, 18],
            &[9, 1, 2, 3],
            &[1, 1],
            e(&[0, 0]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[1, 1, 3, 66],
            &[4, 1, 1, 3],
            &[1, 1],
            e(&[0, 0]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        // The MNIST layer, smaller batch.
        case(
            &[3, 1, 28, 28],
            &[32, 1, 5, 5],
            &[1, 1],
            e(&[0, 0]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[2, 1, 13, 11],
            &[7, 1, 3, 3],
            &[1, 1],
            e(&[1, 1]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[2, 1, 17, 61],
            &[5, 1, 3, 4],
            &[1, 1],
            Padding::Same,
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[1, 2, 19, 37],
            &[6, 1, 5, 3],
            &[1, 1],
            e(&[2, 3]),
            &[2, 3],
            2,
            Boundary::Constant,
        ),
        case(
            &[2, 3, 9, 29],
            &[9, 1, 2, 5],
            &[2, 1],
            e(&[1, 2]),
            &[1, 2],
            3,
            Boundary::Constant,
        ),
        case(
            &[1, 1, 6, 5],
            &[4, 1, 3, 3],
            &[1, 1],
            e(&[4, 7]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[2, 1, 1, 3],
            &[3, 1, 1, 2],
            &[1, 1],
            e(&[0, 0]),
            &[1, 1],
            1,
            Boundary::Constant,
        ),
        case(
            &[2, 2, 50],
            &[10, 1, 7],
            &[1],
            e(&[3]),
            &[2],
            2,
            Boundary::Constant,
        ),
        case(
            &[2, 1, 12, 27],
            &[5, 1, 3, 4],
            &[1, 1],
            Padding::Same,
            &[1, 2],
            1,
            Boundary::Reflect,
        ),
        case(
            &[1, 2, 11, 19],
            &[4, 1, 4, 3],
            &[3, 1],
            e(&[2, 1]),
            &[1, 1],
            2,
            Boundary::Wrap,
        ),
        case(
            &[2, 1, 10, 9],
            &[3, 1, 3, 3],
            &[1, 1],
            e(&[2, 2]),
            &[2, 1],
            1,
            Boundary::Edge,
        ),
    ]
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// float32 results against a float64 reference computed from the same
/// (rounded) data: sums of up to a few hundred terms of size ≤ 0.25.
fn close_f32(a: &[f32], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            (f64::from(x) - y).abs() <= 1e-4,
            "{what}: index {i}: {x} vs {y}"
        );
    }
}

fn levels() -> Vec<crate::simd::Level> {
    let mut levels = vec![crate::simd::Level::Scalar];
    if crate::simd::level() >= crate::simd::Level::Avx2Fma {
        levels.push(crate::simd::Level::Avx2Fma);
    }
    if crate::simd::level() >= crate::simd::Level::Avx512 {
        levels.push(crate::simd::Level::Avx512);
    }
    levels
}

#[test]
fn few_channel_cases_take_the_few_channel_paths() {
    for (i, case) in few_cases().iter().enumerate() {
        let g = geometry(case);
        assert!(few::applies(&g), "case {i}");
        let adjoint = g.stride[1] == 1;
        assert_eq!(few::input_grad_applies(&g), adjoint, "case {i}");
    }
    // Strided along W, one output per group, or a real 3-D kernel: not these kernels.
    let c = &cases()[1];
    assert!(!few::applies(&geometry(c)));
    assert!(!few::applies(&geometry(&cases()[4])));
}

#[test]
fn few_channel_forward_matches_reference() {
    for (i, case) in few_cases().iter().enumerate() {
        let g = geometry(case);
        let x = data(case.input.iter().product(), 11 + i as u64);
        let w = data(case.weight.iter().product(), 111 + i as u64);
        let b = data(g.out_channels, 211);
        let (x32, w32, b32) = (to_f32(&x), to_f32(&w), to_f32(&b));
        let (x_r, w_r, b_r): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            x32.iter().map(|&v| v.into()).collect(),
            w32.iter().map(|&v| v.into()).collect(),
            b32.iter().map(|&v| v.into()).collect(),
        );
        for with_bias in [false, true] {
            let mut want = vec![f64::NAN; out_len(&g)];
            forward(
                &g,
                &x,
                &w,
                with_bias.then_some(&b[..]),
                &mut want,
                Path::Reference,
            );
            let mut want32 = vec![f64::NAN; out_len(&g)];
            forward(
                &g,
                &x_r,
                &w_r,
                with_bias.then_some(&b_r[..]),
                &mut want32,
                Path::Reference,
            );
            // The SIMD levels' float32 results: the AVX-512 kernel does the
            // AVX2 kernel's fused multiply-adds in the same order.
            let mut simd_results: Vec<Vec<f32>> = Vec::new();
            for level in levels() {
                for parallel in [false, true] {
                    let what = format!(
                        "few forward case {i} bias {with_bias} {level:?} parallel {parallel}"
                    );
                    let mut got = vec![f64::NAN; out_len(&g)];
                    crate::threads::run(2, || {
                        few::forward(
                            level,
                            &g,
                            &x,
                            &w,
                            with_bias.then_some(&b[..]),
                            &mut got,
                            parallel,
                        )
                    })
                    .map(|done| assert!(done, "{what}"))
                    .unwrap();
                    close(&got, &want, &what);
                    let mut got32 = vec![f32::NAN; out_len(&g)];
                    crate::threads::run(2, || {
                        few::forward(
                            level,
                            &g,
                            &x32,
                            &w32,
                            with_bias.then_some(&b32[..]),
                            &mut got32,
                            parallel,
                        )
                    })
                    .map(|done| assert!(done, "{what}"))
                    .unwrap();
                    close_f32(&got32, &want32, &what);
                    if level >= crate::simd::Level::Avx2Fma {
                        simd_results.push(got32);
                    }
                }
            }
            assert!(
                simd_results.windows(2).all(|pair| pair[0] == pair[1]),
                "few forward case {i}: the SIMD levels differ"
            );
            // The public entry points route here.
            let mut got = vec![f64::NAN; out_len(&g)];
            forward(
                &g,
                &x,
                &w,
                with_bias.then_some(&b[..]),
                &mut got,
                Path::Gemm,
            );
            close(&got, &want, &format!("forward case {i} through Path::Gemm"));
        }
    }
}

#[test]
fn few_channel_gradients_match_reference() {
    for (i, case) in few_cases().iter().enumerate() {
        if case.boundary != Boundary::Constant {
            continue;
        }
        let g = geometry(case);
        let x = data(case.input.iter().product(), 21 + i as u64);
        let w = data(case.weight.iter().product(), 121 + i as u64);
        let dy = data(out_len(&g), 321 + i as u64);
        let (x32, w32, dy32) = (to_f32(&x), to_f32(&w), to_f32(&dy));
        let widen = |v: &[f32]| -> Vec<f64> { v.iter().map(|&x| x.into()).collect() };
        let (x_r, w_r, dy_r) = (widen(&x32), widen(&w32), widen(&dy32));
        let mut want_dx = vec![f64::NAN; x.len()];
        let mut want_dw = vec![f64::NAN; w.len()];
        reference::input_grad(&g, &w, &dy, &mut want_dx);
        reference::weight_grad(&g, &x, &dy, &mut want_dw);
        let mut want_dx32 = vec![f64::NAN; x.len()];
        let mut want_dw32 = vec![f64::NAN; w.len()];
        reference::input_grad(&g, &w_r, &dy_r, &mut want_dx32);
        reference::weight_grad(&g, &x_r, &dy_r, &mut want_dw32);
        for level in levels() {
            for parallel in [false, true] {
                let what = format!("case {i} {level:?} parallel {parallel}");
                let mut dw = vec![f64::NAN; w.len()];
                let mut dw32 = vec![f32::NAN; w.len()];
                crate::threads::run(3, || {
                    assert!(few::weight_grad(level, &g, &x, &dy, &mut dw, parallel));
                    assert!(few::weight_grad(
                        level, &g, &x32, &dy32, &mut dw32, parallel
                    ));
                })
                .unwrap();
                close(&dw, &want_dw, &format!("few weight_grad {what}"));
                close_f32(&dw32, &want_dw32, &format!("few weight_grad f32 {what}"));
                if few::input_grad_applies(&g) {
                    let mut dx = vec![f64::NAN; x.len()];
                    let mut dx32 = vec![f32::NAN; x.len()];
                    crate::threads::run(3, || {
                        assert!(few::input_grad(level, &g, &w, &dy, &mut dx, parallel));
                        assert!(few::input_grad(level, &g, &w32, &dy32, &mut dx32, parallel));
                    })
                    .unwrap();
                    close(&dx, &want_dx, &format!("few input_grad {what}"));
                    close_f32(&dx32, &want_dx32, &format!("few input_grad f32 {what}"));
                }
            }
        }
        // The public entry points route here (or to GEMM when strided).
        let mut dx = vec![f64::NAN; x.len()];
        let mut dw = vec![f64::NAN; w.len()];
        let mut db = vec![f64::NAN; g.out_channels];
        backward(&g, &x, &w, &dy, &mut dx, &mut dw, &mut db, Path::Gemm).unwrap();
        close(&dx, &want_dx, &format!("backward dx case {i}"));
        close(&dw, &want_dw, &format!("backward dw case {i}"));
    }
}

/// The few-channel kernels give the same bits for every thread count and
/// whether or not they split the work.
#[test]
fn few_channel_paths_are_bitwise_stable_across_threads() {
    for case in &few_cases()[..5] {
        let g = geometry(case);
        let x = to_f32(&data(case.input.iter().product(), 31));
        let w = to_f32(&data(case.weight.iter().product(), 32));
        let dy = to_f32(&data(out_len(&g), 33));
        let mut results = Vec::new();
        for threads in [1, 2, 3] {
            let mut y = vec![f32::NAN; out_len(&g)];
            let mut dx = vec![f32::NAN; x.len()];
            let mut dw = vec![f32::NAN; w.len()];
            let mut db = vec![f32::NAN; g.out_channels];
            crate::threads::run(threads, || {
                forward(&g, &x, &w, None, &mut y, Path::Gemm);
                backward(&g, &x, &w, &dy, &mut dx, &mut dw, &mut db, Path::Gemm)
            })
            .unwrap()
            .unwrap();
            for parallel in [false, true] {
                let mut dw2 = vec![f32::NAN; w.len()];
                let done = few::weight_grad(
                    crate::simd::level(),
                    &g,
                    &x,
                    &dy,
                    &mut dw2,
                    parallel && threads > 1,
                );
                assert!(done);
                assert_eq!(dw2, dw);
            }
            results.push((y, dx, dw));
        }
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[2]);
    }
}

/// An infinite input element only the masked-off lanes of a row's last
/// vector would meet must not turn other taps' weight gradients into NaN
/// (0 × inf): the true gradient of tap (0, 0) never reads the last column.
#[test]
fn few_channel_weight_grad_masks_the_tail_lanes() {
    let case = Case {
        input: vec![1, 1, 3, 13],
        weight: vec![2, 1, 1, 3],
        stride: vec![1, 1],
        padding: Padding::Explicit(vec![0, 0]),
        dilation: vec![1, 1],
        groups: 1,
        boundary: Boundary::Constant,
    };
    let g = geometry(&case);
    let mut x = vec![0.0f32; 3 * 13];
    for row in x.chunks_mut(13) {
        row[12] = f32::INFINITY;
    }
    let dy = vec![1.0f32; out_len(&g)];
    for level in levels() {
        let mut dw = vec![f32::NAN; 6];
        assert!(few::weight_grad(level, &g, &x, &dy, &mut dw, false));
        for c in 0..2 {
            assert_eq!(&dw[c * 3..c * 3 + 2], &[0.0, 0.0], "{level:?}");
            assert_eq!(dw[c * 3 + 2], f32::INFINITY, "{level:?}");
        }
    }
}
