//! A stable-Rust fuzzer over parameter validation and the kernels.
//!
//! cargo-fuzz needs a nightly toolchain; this harness runs under plain
//! `cargo test` instead. Each case is a byte string: the seeds in
//! `fuzz/corpus/` first, then mutations of them (byte flips, insertions,
//! splices) and fresh random strings from a seeded PRNG, for a time budget of
//! `RUSTCONV_FUZZ_SECONDS` (default 3 s so an ordinary `cargo test` stays
//! quick; CI runs 60 s). The bytes decode into a target and its parameters,
//! biased towards edge values (0, 1, negative, i64::MAX, sizes that overflow).
//! For every case the validators must return `Ok` or `Err`, never panic; when
//! they accept a small problem, the fast kernels run and must match the
//! crate's naive reference paths. A panic prints the case's bytes (hex) so it
//! can be added to the corpus; `RUSTCONV_FUZZ_SEED` picks the PRNG seed.

// Each target first asks a validator and then, in a nested `if`, filters
// the accepted problems down to small ones; collapsing the two would hide
// that order.
#![allow(clippy::collapsible_if)]

use ndarray::{ArrayD, IxDyn};
use rustconv::conv::params::{ConvGeometry, Padding};
use rustconv::conv::{self, Path};
use rustconv::fft::{Blocking, FftConvGeometry};
use rustconv::pad::{self, Boundary, PadPlan};
use rustconv::params::Mode;
use rustconv::pool::{self, AdaptiveGeometry, PlaneShape, PoolGeometry};
use rustconv::signal::params::{CorrelateParams, SameOrigin};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest problem (elements of any buffer) whose kernels are run.
const SMALL: usize = 4096;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Reads parameters from the case's bytes (zeros once they run out).
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    /// A signed parameter: mostly small, sometimes an edge value.
    fn int(&mut self) -> i64 {
        let b = self.byte();
        match b >> 5 {
            0..=4 => i64::from(b & 0x07),
            5 => i64::from(b & 0x1f) - 8,
            6 => [
                i64::MAX,
                i64::MIN,
                i64::MAX / 2,
                1 << 32,
                -1,
                1 << 62,
                (1 << 31) - 1,
                1 << 20,
            ][usize::from(b & 7)],
            _ => i64::from(self.byte()) + 8,
        }
    }
    /// A size: mostly small, sometimes huge.
    fn size(&mut self) -> usize {
        let v = self.int();
        if v < 0 {
            v.unsigned_abs() as usize % 5
        } else {
            v as usize
        }
    }
    fn shape(&mut self, ndim: usize) -> Vec<usize> {
        (0..ndim).map(|_| self.size()).collect()
    }
    fn ints(&mut self, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.int()).collect()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::from(self.byte()) % items.len()]
    }
}

fn len_of(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Whether NumPy could hold an array of this shape: the product of the
/// non-zero dimensions fits in isize (NumPy refuses others, so the bindings
/// never see them).
fn representable(shape: &[usize]) -> bool {
    shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .is_some_and(|n| isize::try_from(n).is_ok())
}

fn small(shapes: &[&[usize]]) -> bool {
    shapes
        .iter()
        .all(|s| representable(s) && len_of(s).is_some_and(|n| n <= SMALL))
}

/// `v` as the output slots a pool kernel writes into; prefilled by the
/// caller so that a skipped element shows in the comparison.
fn slots<T>(v: &mut [T]) -> &mut [std::mem::MaybeUninit<T>] {
    // SAFETY: `MaybeUninit<T>` has the layout of `T`, and the kernels store
    // only initialised values, so `v` stays initialised.
    unsafe { &mut *(v as *mut [T] as *mut [std::mem::MaybeUninit<T>]) }
}

/// Deterministic data for a buffer of `n` elements.
fn data(n: usize, salt: u64) -> Vec<f64> {
    let mut r = Rng(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    (0..n)
        .map(|_| (r.below(2001) as f64 - 1000.0) / 250.0)
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let both_nan = g.is_nan() && w.is_nan();
        assert!(
            both_nan || (g - w).abs() <= 1e-9 * scale * 64.0,
            "{what}: element {i}: {g} vs {w}"
        );
    }
}

fn mode(input: &mut Input<'_>) -> Mode {
    input.pick(&[Mode::Full, Mode::Same, Mode::Valid])
}

fn signal(input: &mut Input<'_>) {
    let ndim = 1 + usize::from(input.byte() % 3);
    let (a, b) = (input.shape(ndim), input.shape(ndim));
    let same = input.pick(&[SameOrigin::Centre, SameOrigin::Left]);
    let flip = input.byte() & 1 == 1;
    let Ok(p) = CorrelateParams::new(&a, &b, mode(input), same, flip) else {
        return;
    };
    if !small(&[&a, &b, &p.out_shape]) {
        return;
    }
    let Ok(x) = ArrayD::from_shape_vec(IxDyn(&a), data(len_of(&a).unwrap(), 1)) else {
        return;
    };
    let Ok(k) = ArrayD::from_shape_vec(IxDyn(&b), data(len_of(&b).unwrap(), 2)) else {
        return;
    };
    // An Err is a refusal (an output shape ndarray cannot represent), not a
    // failure; only a panic or a wrong value is.
    let Ok(want) = rustconv::signal::direct::correlate_nd(&x.view(), &k.view(), &p) else {
        return;
    };
    assert_eq!(want.shape(), &p.out_shape[..]);
    if ndim <= 2 && a.iter().all(|&n| n > 0) && b.iter().all(|&n| n > 0) {
        let as2 = |v: &ArrayD<f64>| {
            let s = v.shape();
            let (r, c) = if s.len() == 1 {
                (1, s[0])
            } else {
                (s[0], s[1])
            };
            v.to_shape((r, c)).unwrap().to_owned()
        };
        let mut p2 = p.clone();
        if ndim == 1 {
            p2.out_shape.insert(0, 1);
            p2.offsets.insert(0, 0);
        }
        let Ok(got) = rustconv::signal::plane::correlate_plane(
            &as2(&x).view(),
            &as2(&k).view(),
            &p2,
            Boundary::Constant,
            0.0,
        ) else {
            panic!("correlate_plane refused what correlate_nd accepted");
        };
        assert_close(
            "signal plane vs nd",
            got.as_slice().unwrap(),
            want.as_slice().unwrap(),
        );
        for boundary in [Boundary::Wrap, Boundary::Symmetric] {
            let _ = rustconv::signal::plane::correlate_plane(
                &as2(&x).view(),
                &as2(&k).view(),
                &p2,
                boundary,
                0.0,
            );
        }
    }
}

fn fft(input: &mut Input<'_>) {
    let ndim = 1 + usize::from(input.byte() % 3);
    let (a, b) = (input.shape(ndim), input.shape(ndim));
    let axes = if input.byte() & 1 == 0 {
        None
    } else {
        let n = usize::from(input.byte() % 4);
        Some(input.ints(n))
    };
    let m = mode(input);
    let Ok(g) = FftConvGeometry::new(&a, &b, axes.as_deref(), m) else {
        return;
    };
    if !small(&[&a, &b, &g.shape]) || a.iter().chain(&b).any(|&n| n > 64) {
        return;
    }
    let Ok(x) = ArrayD::from_shape_vec(IxDyn(&a), data(len_of(&a).unwrap(), 3)) else {
        return;
    };
    let Ok(k) = ArrayD::from_shape_vec(IxDyn(&b), data(len_of(&b).unwrap(), 4)) else {
        return;
    };
    let blocking = input.pick(&[Blocking::Auto, Blocking::Blocks, Blocking::Single]);
    let Ok(got) = rustconv::fft::convolve(x.view(), k.view(), &g, blocking) else {
        return;
    };
    assert_eq!(got.shape(), &g.shape[..]);
    // Over every axis in 'full' mode the result is the direct convolution.
    if axes.is_none() && m == Mode::Full {
        let p = CorrelateParams::new(&a, &b, Mode::Full, SameOrigin::Centre, true).unwrap();
        let Ok(want) = rustconv::signal::direct::correlate_nd(&x.view(), &k.view(), &p) else {
            return;
        };
        let got = got.as_standard_layout();
        assert_close(
            "fft vs direct",
            got.as_slice().unwrap(),
            want.as_slice().unwrap(),
        );
    }
}

fn conv_case(input: &mut Input<'_>) {
    let rank = 1 + usize::from(input.byte() % 3);
    let batched = input.byte() & 1 == 1;
    let lead = if batched {
        input.shape(2)
    } else {
        input.shape(1)
    };
    let x_shape: Vec<usize> = lead.iter().copied().chain(input.shape(rank)).collect();
    let w_shape = input.shape(rank + 2);
    let stride = input.ints(rank);
    let dilation = input.ints(rank);
    let groups = input.int();
    let padding = match input.byte() % 4 {
        0 => Padding::Same,
        1 => Padding::Valid,
        _ => Padding::Explicit(input.ints(rank)),
    };
    let boundary = input.pick(&[
        Boundary::Constant,
        Boundary::Reflect,
        Boundary::Edge,
        Boundary::Wrap,
    ]);
    let transposed = input.byte() & 3 == 0;
    let geometry = if transposed {
        let pads = input.ints(rank);
        let output_padding = input.ints(rank);
        ConvGeometry::transposed(
            rank,
            &x_shape,
            &w_shape,
            &stride,
            &pads,
            &output_padding,
            groups,
            &dilation,
        )
    } else {
        ConvGeometry::forward(
            rank, &x_shape, &w_shape, &stride, &padding, &dilation, groups, boundary,
        )
    };
    let Ok((g, _)) = geometry else {
        return;
    };
    let (Ok(n_in), Ok(n_out)) = (g.in_volume(), g.out_volume()) else {
        return;
    };
    if g.batch > SMALL || g.in_channels > SMALL || g.out_channels > SMALL {
        return;
    }
    let (n_in, n_out) = (
        n_in * g.batch * g.in_channels,
        n_out * g.batch * g.out_channels,
    );
    let n_w = len_of(&w_shape).unwrap_or(usize::MAX);
    if n_in > SMALL || n_out > SMALL || n_w > SMALL || g.macs() > 1 << 20 {
        return;
    }
    let x = data(n_in, 5);
    let w = data(n_w, 6);
    let dy = data(n_out, 7);
    if transposed {
        // Transposed: the input gradient of the forward geometry.
        let mut want = vec![f64::NAN; n_in];
        conv::input_grad(&g, &w, &dy, &mut want, Path::Reference);
        for path in [Path::Gemm, Path::Direct] {
            let mut got = vec![f64::NAN; n_in];
            conv::input_grad(&g, &w, &dy, &mut got, path);
            assert_close("conv input_grad", &got, &want);
        }
        return;
    }
    let mut want = vec![f64::NAN; n_out];
    conv::forward(&g, &x, &w, None, &mut want, Path::Reference);
    for path in [Path::Gemm, Path::Direct] {
        let mut got = vec![f64::NAN; n_out];
        conv::forward(&g, &x, &w, None, &mut got, path);
        assert_close("conv forward", &got, &want);
    }
    if g.boundary == Boundary::Constant {
        let mut want_w = vec![f64::NAN; n_w];
        conv::weight_grad(&g, &x, &dy, &mut want_w, Path::Reference).unwrap();
        let mut got_w = vec![f64::NAN; n_w];
        conv::weight_grad(&g, &x, &dy, &mut got_w, Path::Gemm).unwrap();
        assert_close("conv weight_grad", &got_w, &want_w);
    }
}

fn pad_case(input: &mut Input<'_>) {
    let ndim = usize::from(input.byte() % 4);
    let shape = input.shape(ndim);
    let pairs: Vec<[u64; 2]> = (0..ndim)
        .map(|_| [input.int() as u64, input.int() as u64])
        .collect();
    let boundary = input.pick(&[
        Boundary::Constant,
        Boundary::Edge,
        Boundary::Reflect,
        Boundary::Symmetric,
        Boundary::Wrap,
    ]);
    if let Ok(plan) = PadPlan::forward(&shape, &pairs, boundary, "array") {
        if small(&[&shape, plan.out_shape()]) {
            let Ok(x) = ArrayD::from_shape_vec(IxDyn(&shape), data(plan.in_len(), 8)) else {
                return;
            };
            let constants = vec![[1.5, -2.5]; ndim];
            let Ok(got) = pad::pad(&x.view(), &plan, &constants) else {
                return;
            };
            let want = pad::reference::pad(&x.view(), &plan, &constants);
            assert_eq!(got, want, "pad");
        }
    }
    if let Ok(plan) = PadPlan::backward(&shape, &pairs, boundary, "grad") {
        if small(&[&shape, plan.in_shape()]) {
            let Ok(grad) = ArrayD::from_shape_vec(IxDyn(&shape), data(plan.out_len(), 9)) else {
                return;
            };
            let Ok(got) = pad::pad_backward(&grad.view(), &plan) else {
                return;
            };
            let want = pad::reference::pad_backward(&grad.view(), &plan);
            assert_close(
                "pad_backward",
                got.as_standard_layout().as_slice().unwrap(),
                want.as_standard_layout().as_slice().unwrap(),
            );
        }
    }
}

fn pool_case(input: &mut Input<'_>) {
    let rank = 1 + usize::from(input.byte() % 3);
    let planes = input.size();
    let spatial = input.shape(rank);
    let (kernel, stride, padding, dilation) = (
        input.ints(rank),
        input.ints(rank),
        input.ints(rank),
        input.ints(rank),
    );
    let ceil = input.byte() & 1 == 1;
    // The bindings take planes from a real array and refuse empty spatial
    // dimensions, so a huge plane count never meets zero-size planes there;
    // here it would only make the kernels loop over nothing for hours.
    if planes > SMALL {
        return;
    }
    // The bindings' own check of the input's shape comes first.
    let shape: Vec<usize> = std::iter::once(planes)
        .chain(spatial.iter().copied())
        .collect();
    if PlaneShape::split(&shape, rank, "input", "pool").is_err() {
        return;
    }
    if let Ok(g) = PoolGeometry::new(
        planes, &spatial, &kernel, &stride, &padding, &dilation, ceil, "max_pool",
    ) && representable(&g.output)
        && representable(&g.input)
    {
        let (n_in, n_out) = (
            len_of(&[planes, g.in_plane()]),
            len_of(&[planes, g.out_plane()]),
        );
        if let (Some(n_in), Some(n_out)) = (n_in, n_out) {
            if n_in <= SMALL
                && n_out <= SMALL
                && len_of(&g.kernel)
                    .and_then(|k| k.checked_mul(n_out))
                    .is_some_and(|w| w <= 1 << 20)
            {
                let x = data(n_in, 10);
                let (mut got, mut want) = (vec![f64::NAN; n_out], vec![f64::NAN; n_out]);
                let (mut gi, mut wi) = (vec![-7i64; n_out], vec![-7i64; n_out]);
                pool::max_pool(&g, &x, slots(&mut got), Some(slots(&mut gi)));
                pool::reference::max_pool(&g, &x, &mut want, &mut wi);
                assert_eq!(gi, wi, "max_pool indices");
                assert_close("max_pool", &got, &want);
                let include = input.byte() & 1 == 1;
                let divisor = usize::from(input.byte() % 4);
                let divisor = (divisor > 0).then_some(divisor);
                pool::avg_pool(&g, &x, slots(&mut got), include, divisor);
                pool::reference::avg_pool(&g, &x, &mut want, include, divisor);
                assert_close("avg_pool", &got, &want);
            }
        }
    }
    let output: Vec<Option<i64>> = (0..rank)
        .map(|_| {
            if input.byte() & 7 == 0 {
                None
            } else {
                Some(input.int())
            }
        })
        .collect();
    if let Ok(g) = AdaptiveGeometry::new(planes, &spatial, &output)
        && representable(&g.output)
        && representable(&g.input)
    {
        let (n_in, n_out) = (
            len_of(&[planes, g.in_plane()]),
            len_of(&[planes, g.out_plane()]),
        );
        if let (Some(n_in), Some(n_out)) = (n_in, n_out) {
            if n_in <= SMALL && n_out <= SMALL {
                let x = data(n_in, 11);
                let (mut got, mut want) = (vec![f64::NAN; n_out], vec![f64::NAN; n_out]);
                pool::adaptive_avg_pool(&g, &x, slots(&mut got));
                pool::reference::adaptive_avg_pool(&g, &x, &mut want);
                assert_close("adaptive_avg_pool", &got, &want);
            }
        }
    }
}

/// A fuzz target: decodes its parameters from the input and checks them.
type Target = fn(&mut Input<'_>);

const TARGETS: [(&str, Target); 5] = [
    ("signal", signal),
    ("fft", fft),
    ("conv", conv_case),
    ("pad", pad_case),
    ("pool", pool_case),
];

/// The case running now and since when, for the watchdog.
static CURRENT: Mutex<Option<(Instant, String)>> = Mutex::new(None);

/// A case that runs for more than `limit` is a hang: print it and abort, so
/// the run fails with the bytes to reproduce it instead of timing out.
fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let current = CURRENT
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((since, hex)) = current.as_ref() {
                if since.elapsed() > limit {
                    eprintln!("fuzz: a case ran for more than {limit:?}; case bytes: {hex}");
                    std::process::abort();
                }
            }
        }
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run_case(bytes: &[u8]) -> Result<(), String> {
    *CURRENT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), hex(bytes)));
    let result = run_target(bytes);
    *CURRENT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    result
}

fn run_target(bytes: &[u8]) -> Result<(), String> {
    let target = usize::from(bytes.first().copied().unwrap_or(0)) % TARGETS.len();
    let mut input = Input { bytes, at: 1 };
    catch_unwind(AssertUnwindSafe(|| (TARGETS[target].1)(&mut input))).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!(
            "target {}: {what}\n  case bytes: {}",
            TARGETS[target].0,
            hex(bytes)
        )
    })
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], case: &mut Vec<u8>) {
    case.clear();
    if seeds.is_empty() || rng.below(4) == 0 {
        let n = 1 + rng.below(40);
        case.extend((0..n).map(|_| rng.next() as u8));
        return;
    }
    case.extend_from_slice(&seeds[rng.below(seeds.len())]);
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(case.len() + 1);
        match rng.below(5) {
            0 if at < case.len() => case[at] ^= 1 << rng.below(8),
            1 if at < case.len() => case[at] = rng.next() as u8,
            2 => case.insert(at, rng.next() as u8),
            3 if at < case.len() => {
                case.remove(at);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                case.splice(at..at, other[from..].iter().copied().take(8));
            }
        }
    }
}

#[test]
fn fuzz_validation_and_kernels() {
    let seconds: f64 = std::env::var("RUSTCONV_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let seed: u64 = std::env::var("RUSTCONV_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    // RUSTCONV_FUZZ_CASE=<hex> reruns one reported case with its backtrace.
    if let Ok(case) = std::env::var("RUSTCONV_FUZZ_CASE") {
        let bytes: Vec<u8> = (0..case.len() / 2)
            .filter_map(|i| u8::from_str_radix(&case[2 * i..2 * i + 2], 16).ok())
            .collect();
        let target = usize::from(bytes.first().copied().unwrap_or(0)) % TARGETS.len();
        (TARGETS[target].1)(&mut Input {
            bytes: &bytes,
            at: 1,
        });
        return;
    }
    // Panics are expected to be caught and reported below, not printed.
    std::panic::set_hook(Box::new(|_| {}));
    start_watchdog(Duration::from_secs(20));
    let seeds = corpus();
    let mut failures = Vec::new();
    for s in &seeds {
        if let Err(e) = run_case(s) {
            failures.push(e);
        }
    }
    let mut rng = Rng(seed | 1);
    let mut case = Vec::new();
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut runs = 0u64;
    while start.elapsed() < budget && failures.len() < 20 {
        mutate(&mut rng, &seeds, &mut case);
        if let Err(e) = run_case(&case) {
            failures.push(e);
        }
        runs += 1;
    }
    let _ = std::panic::take_hook();
    println!(
        "fuzz: {} corpus seeds, {runs} mutated cases in {:.1} s (seed {seed})",
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
