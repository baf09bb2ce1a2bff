//! Every fast kernel against the naive reference, over odd sizes and
//! awkward values, with NaN-prefilled outputs.

use super::params::{AdaptiveGeometry, PoolGeometry};
use super::window::{avg_pool_at, lp_pool_at, max_pool_at};
use super::*;
use crate::simd::{self, Level};

/// Every instruction-set level this CPU runs: the portable path always.
fn levels() -> Vec<Level> {
    let mut levels = vec![Level::Scalar];
    if simd::level() > Level::Scalar {
        levels.push(simd::level());
    }
    levels
}

/// `v` as the output slots a kernel writes into; prefilled (with NaN or
/// an impossible index) so that a result that skipped an element could
/// not pass by chance.
fn slots<T>(v: &mut [T]) -> &mut [std::mem::MaybeUninit<T>] {
    // SAFETY: `MaybeUninit<T>` has the layout of `T`, and the kernels store
    // only initialised values, so `v` stays initialised.
    unsafe { &mut *(v as *mut [T] as *mut [std::mem::MaybeUninit<T>]) }
}

/// A small deterministic generator (xorshift), so the tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Values with many ties, some NaN and ±inf.
    fn awkward(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| match self.below(40) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                3..=15 => self.below(4) as f64,
                _ => (self.below(2001) as f64 - 1000.0) / 37.0,
            })
            .collect()
    }
    fn smooth(&mut self, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| (self.below(2001) as f64 - 1000.0) / 137.0)
            .collect()
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan()))
}

/// Random valid geometries of every rank.
fn geometries(rng: &mut Rng, count: usize, with_dilation: bool) -> Vec<PoolGeometry> {
    let mut out = Vec::new();
    while out.len() < count {
        let rank = 1 + rng.below(3);
        let planes = rng.below(3);
        let spatial: Vec<usize> = (0..rank)
            .map(|_| 1 + rng.below(if rank == 3 { 6 } else { 11 }))
            .collect();
        let kernel: Vec<i64> = (0..rank).map(|_| 1 + rng.below(4) as i64).collect();
        let stride: Vec<i64> = (0..rank).map(|_| 1 + rng.below(4) as i64).collect();
        let padding: Vec<i64> = kernel
            .iter()
            .map(|&k| rng.below(k as usize / 2 + 1) as i64)
            .collect();
        let dilation: Vec<i64> = (0..rank)
            .map(|_| {
                if with_dilation {
                    1 + rng.below(3) as i64
                } else {
                    1
                }
            })
            .collect();
        let ceil = rng.below(2) == 1;
        if let Ok(g) = PoolGeometry::new(
            planes, &spatial, &kernel, &stride, &padding, &dilation, ceil, "test",
        ) {
            out.push(g);
        }
    }
    out
}

#[test]
fn max_pool_matches_reference() {
    let mut rng = Rng(0x1234_5678);
    for g in geometries(&mut rng, 400, true) {
        let input = rng.awkward(g.planes * g.in_plane());
        let n = g.planes * g.out_plane();
        let (mut want, mut want_idx) = (vec![f64::NAN; n], vec![-7; n]);
        reference::max_pool(&g, &input, &mut want, &mut want_idx);
        let (mut got, mut got_idx) = (vec![f64::NAN; n], vec![-7; n]);
        max_pool(&g, &input, slots(&mut got), Some(slots(&mut got_idx)));
        assert!(same_bits(&got, &want), "{g:?}\n{got:?}\n{want:?}");
        assert_eq!(got_idx, want_idx, "{g:?}");
        for level in levels() {
            let (mut values, mut indices) = (vec![f64::NAN; n], vec![-7; n]);
            max_pool_at(
                level,
                &g,
                &input,
                slots(&mut values),
                Some(slots(&mut indices)),
            );
            assert!(same_bits(&values, &want), "{g:?} {level:?}");
            assert_eq!(indices, want_idx, "{g:?} {level:?}");
            let mut values_only = vec![f64::NAN; n];
            max_pool_at(level, &g, &input, slots(&mut values_only), None);
            assert!(same_bits(&values_only, &want), "{g:?} {level:?}");
            let as_f32: Vec<f32> = input.iter().map(|&v| v as f32).collect();
            let (mut want32, mut idx32) = (vec![f32::NAN; n], vec![0; n]);
            reference::max_pool(&g, &as_f32, &mut want32, &mut idx32);
            let mut got32 = vec![f32::NAN; n];
            max_pool_at(level, &g, &as_f32, slots(&mut got32), None);
            assert!(
                got32
                    .iter()
                    .zip(&want32)
                    .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
            );
        }
    }
}

#[test]
fn avg_and_lp_pool_match_reference() {
    let mut rng = Rng(0x9abc_def1);
    for g in geometries(&mut rng, 400, false) {
        let input = rng.awkward(g.planes * g.in_plane());
        let n = g.planes * g.out_plane();
        for count_include_pad in [false, true] {
            for divisor_override in [None, Some(3)] {
                let mut want = vec![f64::NAN; n];
                reference::avg_pool(&g, &input, &mut want, count_include_pad, divisor_override);
                for level in levels() {
                    let mut got = vec![f64::NAN; n];
                    avg_pool_at(
                        level,
                        &g,
                        &input,
                        slots(&mut got),
                        count_include_pad,
                        divisor_override,
                    );
                    assert!(same_bits(&got, &want), "{g:?} {level:?}");
                }
            }
        }
        let no_padding = PoolGeometry {
            padding: [0; 3],
            ..g.clone()
        };
        let Ok(lp) = PoolGeometry::new(
            no_padding.planes,
            &no_padding.input[3 - g.rank..],
            &no_padding.kernel[3 - g.rank..]
                .iter()
                .map(|&k| k as i64)
                .collect::<Vec<_>>(),
            &no_padding.stride[3 - g.rank..]
                .iter()
                .map(|&k| k as i64)
                .collect::<Vec<_>>(),
            &vec![0; g.rank],
            &vec![1; g.rank],
            rng.below(2) == 1,
            "test",
        ) else {
            continue;
        };
        let input = rng.smooth(lp.planes * lp.in_plane());
        for p in [1.0, 2.0, 3.0, 0.75] {
            let norm = LpNorm::<f64>::new(p).unwrap();
            let n = lp.planes * lp.out_plane();
            let mut want = vec![f64::NAN; n];
            reference::lp_pool(&lp, &input, &mut want, norm);
            let mut got = vec![f64::NAN; n];
            for level in levels() {
                lp_pool_at(level, &lp, &input, slots(&mut got), norm);
                assert!(same_bits(&got, &want), "{lp:?} p={p} {level:?}");
            }
            let grad_out = rng.smooth(n);
            let mut want_grad = vec![f64::NAN; input.len()];
            reference::lp_pool_backward(&lp, &grad_out, &input, &want, &mut want_grad, norm);
            let mut got_grad = vec![f64::NAN; input.len()];
            lp_pool_backward(&lp, &grad_out, &input, &got, slots(&mut got_grad), norm);
            assert!(close(&got_grad, &want_grad), "{lp:?} p={p}");
        }
    }
}

#[test]
fn backward_matches_reference() {
    let mut rng = Rng(0x0f0f_1234);
    for g in geometries(&mut rng, 300, false) {
        let grad_out = rng.smooth(g.planes * g.out_plane());
        for count_include_pad in [false, true] {
            for divisor_override in [None, Some(5)] {
                let mut want = vec![f64::NAN; g.planes * g.in_plane()];
                reference::avg_pool_backward(
                    &g,
                    &grad_out,
                    &mut want,
                    count_include_pad,
                    divisor_override,
                );
                let mut got = vec![f64::NAN; g.planes * g.in_plane()];
                avg_pool_backward(
                    &g,
                    &grad_out,
                    slots(&mut got),
                    count_include_pad,
                    divisor_override,
                );
                assert!(close(&got, &want), "{g:?}");
            }
        }
        // Max backward: a scatter of the forward's indices.
        let input = rng.awkward(g.planes * g.in_plane());
        let mut values = vec![f64::NAN; grad_out.len()];
        let mut indices = vec![0; grad_out.len()];
        max_pool(&g, &input, slots(&mut values), Some(slots(&mut indices)));
        assert_eq!(first_out_of_range(&indices, g.in_plane()), None);
        let mut want = vec![0.0; input.len()];
        for (i, (&gr, &ix)) in grad_out.iter().zip(&indices).enumerate() {
            want[i / g.out_plane().max(1) * g.in_plane() + ix as usize] += gr;
        }
        let mut got = vec![f64::NAN; input.len()];
        max_pool_backward(
            &grad_out,
            &indices,
            slots(&mut got),
            g.in_plane(),
            g.out_plane(),
        );
        assert!(close(&got, &want), "{g:?}");
    }
}

#[test]
fn adaptive_matches_reference() {
    let mut rng = Rng(0x5555_aaaa);
    for _ in 0..300 {
        let rank = 1 + rng.below(3);
        let planes = rng.below(3);
        let spatial: Vec<usize> = (0..rank).map(|_| 1 + rng.below(12)).collect();
        let output: Vec<Option<i64>> = (0..rank)
            .map(|_| {
                if rng.below(5) == 0 {
                    None
                } else {
                    Some(1 + rng.below(9) as i64)
                }
            })
            .collect();
        let g = AdaptiveGeometry::new(planes, &spatial, &output).unwrap();
        let input = rng.awkward(planes * g.in_plane());
        let n = planes * g.out_plane();
        let (mut want, mut want_idx) = (vec![f64::NAN; n], vec![-1; n]);
        reference::adaptive_max_pool(&g, &input, &mut want, &mut want_idx);
        let (mut got, mut got_idx) = (vec![f64::NAN; n], vec![-1; n]);
        adaptive_max_pool(&g, &input, slots(&mut got), Some(slots(&mut got_idx)));
        assert!(same_bits(&got, &want));
        assert_eq!(got_idx, want_idx);
        let smooth = rng.smooth(planes * g.in_plane());
        let mut want = vec![f64::NAN; n];
        reference::adaptive_avg_pool(&g, &smooth, &mut want);
        let mut got = vec![f64::NAN; n];
        adaptive_avg_pool(&g, &smooth, slots(&mut got));
        assert!(close(&got, &want));
        let grad_out = rng.smooth(n);
        let mut want = vec![f64::NAN; smooth.len()];
        reference::adaptive_avg_pool_backward(&g, &grad_out, &mut want);
        let mut got = vec![f64::NAN; smooth.len()];
        adaptive_avg_pool_backward(&g, &grad_out, slots(&mut got));
        assert!(close(&got, &want));
    }
}

#[test]
fn large_inputs_are_identical_for_every_thread_count() {
    let mut rng = Rng(0x7777_1111);
    let g = PoolGeometry::new(
        6,
        &[67, 45],
        &[3, 3],
        &[2, 2],
        &[1, 1],
        &[1, 1],
        true,
        "test",
    )
    .unwrap();
    let input = rng.awkward(g.planes * g.in_plane());
    let n = g.planes * g.out_plane();
    let run = |threads: usize| {
        crate::threads::run(threads, || {
            let (mut values, mut indices) = (vec![f64::NAN; n], vec![0; n]);
            max_pool(&g, &input, slots(&mut values), Some(slots(&mut indices)));
            let mut avg = vec![f64::NAN; n];
            avg_pool(&g, &input, slots(&mut avg), false, None);
            let mut grad = vec![f64::NAN; input.len()];
            avg_pool_backward(&g, &avg, slots(&mut grad), true, None);
            (values, indices, avg, grad)
        })
        .unwrap()
    };
    let one = run(1);
    let (mut want, mut want_idx) = (vec![f64::NAN; n], vec![0; n]);
    reference::max_pool(&g, &input, &mut want, &mut want_idx);
    assert!(same_bits(&one.0, &want));
    assert_eq!(one.1, want_idx);
    for threads in [2, 3] {
        let other = run(threads);
        assert!(same_bits(&one.0, &other.0) && one.1 == other.1);
        assert!(same_bits(&one.2, &other.2) && same_bits(&one.3, &other.3));
    }
    // Inline on the calling thread, as the bindings run one worker.
    let inline = crate::threads::run_sized(1, usize::MAX, || {
        let (mut values, mut indices) = (vec![f64::NAN; n], vec![0; n]);
        max_pool(&g, &input, slots(&mut values), Some(slots(&mut indices)));
        let mut avg = vec![f64::NAN; n];
        avg_pool(&g, &input, slots(&mut avg), false, None);
        let mut grad = vec![f64::NAN; input.len()];
        avg_pool_backward(&g, &avg, slots(&mut grad), true, None);
        (values, indices, avg, grad)
    })
    .unwrap();
    assert!(same_bits(&one.0, &inline.0) && one.1 == inline.1);
    assert!(same_bits(&one.2, &inline.2) && same_bits(&one.3, &inline.3));
}

/// The vector max paths on rows long enough for several vectors (the
/// random geometries above are mostly shorter than one), float32 and
/// float64, with NaN, ±inf, signed zeros and many ties.
#[test]
fn max_pool_wide_rows_every_level() {
    let mut rng = Rng(0x5eed_0fa1);
    for case in 0..300 {
        let height = 1 + rng.below(5);
        let width = 1 + rng.below(90);
        let kernel = [1 + rng.below(3) as i64, 1 + rng.below(5) as i64];
        let stride = [1 + rng.below(2) as i64, 1 + rng.below(3) as i64];
        let padding = [
            rng.below(kernel[0] as usize / 2 + 1) as i64,
            rng.below(kernel[1] as usize / 2 + 1) as i64,
        ];
        let dilation = [1, if case % 4 == 0 { 2 } else { 1 }];
        let Ok(g) = PoolGeometry::new(
            1 + rng.below(3),
            &[height, width],
            &kernel,
            &stride,
            &padding,
            &dilation,
            rng.below(2) == 1,
            "test",
        ) else {
            continue;
        };
        let mut input = rng.awkward(g.planes * g.in_plane());
        for v in input.iter_mut() {
            match rng.below(30) {
                0 => *v = -0.0,
                1 => *v = 0.0,
                2 => *v = f64::NEG_INFINITY,
                _ => {}
            }
        }
        let n = g.planes * g.out_plane();
        let as_f32: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let (mut want32, mut want32_idx) = (vec![f32::NAN; n], vec![-7; n]);
        reference::max_pool(&g, &as_f32, &mut want32, &mut want32_idx);
        let (mut want64, mut want64_idx) = (vec![f64::NAN; n], vec![-7; n]);
        reference::max_pool(&g, &input, &mut want64, &mut want64_idx);
        let bits32 = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        for level in levels() {
            let (mut got, mut idx) = (vec![f32::NAN; n], vec![-7; n]);
            max_pool_at(level, &g, &as_f32, slots(&mut got), Some(slots(&mut idx)));
            assert!(bits32(&got, &want32), "{g:?} {level:?}");
            assert_eq!(idx, want32_idx, "{g:?} {level:?}");
            let mut values_only = vec![f32::NAN; n];
            max_pool_at(level, &g, &as_f32, slots(&mut values_only), None);
            assert!(bits32(&values_only, &want32), "{g:?} {level:?}");
            let (mut got64, mut idx64) = (vec![f64::NAN; n], vec![-7; n]);
            max_pool_at(
                level,
                &g,
                &input,
                slots(&mut got64),
                Some(slots(&mut idx64)),
            );
            assert!(same_bits(&got64, &want64), "{g:?} {level:?}");
            assert_eq!(idx64, want64_idx, "{g:?} {level:?}");
        }
    }
}

#[test]
fn lp_norm_rejects_non_positive_and_non_finite() {
    for p in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(LpNorm::<f32>::new(p).is_err());
    }
    assert_eq!(LpNorm::<f32>::new(2.0).unwrap(), LpNorm::Two);
    assert_eq!(LpNorm::<f64>::new(2.0).unwrap().coefficient(1.0, 0.0), 0.0);
}

/// The float32 separable engine (max, average, L1 and L2 pooling with
/// stride 1 or 2 along the width) against the reference, bitwise, on rows
/// several vectors long: odd widths, ceil mode, padding, dilation across
/// rows (and along the width, which must fall back), count_include_pad,
/// divisor_override, NaN, ±inf, signed zeros and ties; every level.
#[test]
fn separable_engine_float32_every_level() {
    let mut rng = Rng(0x0dd_5eed);
    let bits32 = |a: &[f32], b: &[f32]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    };
    let mut engine_cases = 0;
    for case in 0..500 {
        let rank = 1 + rng.below(3);
        let spatial: Vec<usize> = (0..rank)
            .map(|axis| {
                if axis + 1 == rank {
                    // Up to 18 blocks of 8 outputs: runs of four direct
                    // blocks at stride 2 too.
                    1 + rng.below(150)
                } else {
                    1 + rng.below(6)
                }
            })
            .collect();
        let kernel: Vec<i64> = (0..rank).map(|_| 1 + rng.below(5) as i64).collect();
        let stride: Vec<i64> = (0..rank)
            .map(|axis| {
                if axis + 1 == rank && case % 7 != 0 {
                    1 + rng.below(2) as i64
                } else {
                    1 + rng.below(3) as i64
                }
            })
            .collect();
        let padding: Vec<i64> = kernel
            .iter()
            .map(|&k| rng.below(k as usize / 2 + 1) as i64)
            .collect();
        let dilation: Vec<i64> = (0..rank)
            .map(|axis| {
                if axis + 1 == rank && case % 5 != 0 {
                    1
                } else {
                    1 + rng.below(2) as i64
                }
            })
            .collect();
        let ceil = rng.below(2) == 1;
        let planes = 1 + rng.below(3);
        let Ok(g) = PoolGeometry::new(
            planes, &spatial, &kernel, &stride, &padding, &dilation, ceil, "test",
        ) else {
            continue;
        };
        if g.stride[2] <= 2 && g.dilation[2] == 1 {
            engine_cases += 1;
        }
        let n = g.planes * g.out_plane();
        let mut input: Vec<f32> = rng
            .awkward(g.planes * g.in_plane())
            .iter()
            .map(|&v| v as f32)
            .collect();
        for v in input.iter_mut() {
            match rng.below(30) {
                0 => *v = -0.0,
                1 => *v = 0.0,
                2 => *v = f32::NEG_INFINITY,
                _ => {}
            }
        }
        let (mut want, mut want_idx) = (vec![f32::NAN; n], vec![0; n]);
        reference::max_pool(&g, &input, &mut want, &mut want_idx);
        for level in levels() {
            let mut got = vec![f32::NAN; n];
            max_pool_at(level, &g, &input, slots(&mut got), None);
            assert!(bits32(&got, &want), "max {g:?} {level:?}");
        }
        for count_include_pad in [false, true] {
            for divisor_override in [None, Some(3), Some(4)] {
                let mut want = vec![f32::NAN; n];
                reference::avg_pool(&g, &input, &mut want, count_include_pad, divisor_override);
                for level in levels() {
                    let mut got = vec![f32::NAN; n];
                    avg_pool_at(
                        level,
                        &g,
                        &input,
                        slots(&mut got),
                        count_include_pad,
                        divisor_override,
                    );
                    assert!(
                        bits32(&got, &want),
                        "avg {g:?} {level:?} {count_include_pad} {divisor_override:?}"
                    );
                }
            }
        }
        if g.padding != [0; 3] || g.dilation != [1; 3] {
            continue;
        }
        for p in [1.0, 2.0] {
            let norm = LpNorm::<f32>::new(p).unwrap();
            let mut want = vec![f32::NAN; n];
            reference::lp_pool(&g, &input, &mut want, norm);
            for level in levels() {
                let mut got = vec![f32::NAN; n];
                lp_pool_at(level, &g, &input, slots(&mut got), norm);
                assert!(bits32(&got, &want), "lp {p} {g:?} {level:?}");
            }
        }
    }
    assert!(engine_cases > 200, "{engine_cases}");
}

/// The float32 engine on an input large enough (≥ 32 MiB) that its rows ask
/// for their input ahead, across plane boundaries: bitwise the scalar path.
#[test]
fn engine_on_an_input_beyond_the_cache() {
    let mut rng = Rng(0xb16_1e7);
    // 3 planes of 1700 × 1701: 34.7 MB of float32, rows of an odd width.
    let (planes, height, width) = (3, 1700, 1701);
    let input: Vec<f32> = rng
        .awkward(planes * height * width)
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert!(std::mem::size_of_val(input.as_slice()) >= 32 << 20);
    let bits = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    };
    for (kernel, stride, padding) in [([3, 3], [2, 2], [1, 1]), ([2, 2], [2, 2], [0, 0])] {
        let g = PoolGeometry::new(
            planes,
            &[height, width],
            &kernel,
            &stride,
            &padding,
            &[1, 1],
            false,
            "test",
        )
        .unwrap();
        let n = planes * g.out_plane();
        let run = |level: Level, op: usize| {
            let mut out = vec![f32::NAN; n];
            match op {
                0 => max_pool_at(level, &g, &input, slots(&mut out), None),
                1 => avg_pool_at(level, &g, &input, slots(&mut out), true, None),
                _ => lp_pool_at(level, &g, &input, slots(&mut out), LpNorm::Two),
            }
            out
        };
        for op in 0..3 {
            if op == 2 && padding != [0, 0] {
                continue;
            }
            let want = run(Level::Scalar, op);
            for level in levels() {
                assert!(bits(&run(level, op), &want), "{op} {kernel:?} {level:?}");
            }
        }
    }
}
