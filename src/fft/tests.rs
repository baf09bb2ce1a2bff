//! The engine against a naive direct convolution, over every blocking,
//! element type, mode and axis choice, with odd and prime sizes.

use super::*;
use ndarray::{ArrayD, IxDyn};
use num_complex::Complex;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

fn random(shape: &[usize], rng: &mut Lcg) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.next())
}

/// Direct N-d convolution at each output position of the geometry's window
/// (NaN-prefilled, so an unwritten element fails): the obviously correct
/// reference.
fn naive(
    a: &ArrayD<Complex<f64>>,
    b: &ArrayD<Complex<f64>>,
    g: &FftConvGeometry,
) -> ArrayD<Complex<f64>> {
    // Convolution commutes: loop over the smaller input.
    let (a, b) = if a.len() > b.len() { (b, a) } else { (a, b) };
    let mut out = ArrayD::from_elem(IxDyn(&g.shape), Complex::new(f64::NAN, 0.0));
    for (index, v) in out.indexed_iter_mut() {
        let full_index: Vec<usize> = (0..g.shape.len()).map(|d| g.start[d] + index[d]).collect();
        *v = broadcast_value(a, b, g, &full_index);
    }
    out
}

/// The full result's value at `index`, summed directly.
fn broadcast_value(
    a: &ArrayD<Complex<f64>>,
    b: &ArrayD<Complex<f64>>,
    g: &FftConvGeometry,
    index: &[usize],
) -> Complex<f64> {
    let mut sum = Complex::new(0.0, 0.0);
    for (ia, &va) in a.indexed_iter() {
        let mut ib = vec![0usize; index.len()];
        let mut ok = true;
        for d in 0..index.len() {
            if g.axes.contains(&d) {
                if index[d] < ia[d] || index[d] - ia[d] >= b.shape()[d] {
                    ok = false;
                    break;
                }
                ib[d] = index[d] - ia[d];
            } else {
                let ai = if a.shape()[d] == 1 { 0 } else { index[d] };
                if ia[d] != ai {
                    ok = false;
                    break;
                }
                ib[d] = if b.shape()[d] == 1 { 0 } else { index[d] };
            }
        }
        if ok {
            sum += va * b[IxDyn(&ib)];
        }
    }
    sum
}

fn rel_error(got: &ArrayD<Complex<f64>>, want: &ArrayD<Complex<f64>>) -> f64 {
    assert_eq!(got.shape(), want.shape());
    let num: f64 = got.iter().zip(want).map(|(a, b)| (a - b).norm_sqr()).sum();
    let den: f64 = want.iter().map(|b| b.norm_sqr()).sum();
    (num / den.max(1e-300)).sqrt()
}

const MODES: [Mode; 3] = [Mode::Full, Mode::Same, Mode::Valid];
const BLOCKINGS: [Blocking; 3] = [Blocking::Auto, Blocking::Blocks, Blocking::Single];

fn check_case(s1: &[usize], s2: &[usize], axes: Option<&[i64]>, rng: &mut Lcg) {
    let a = random(s1, rng);
    let b = random(s2, rng);
    let ai = random(s1, rng);
    let bi = random(s2, rng);
    let ac = ArrayD::from_shape_fn(IxDyn(s1), |i| Complex::new(a[&i], ai[&i]));
    let bc = ArrayD::from_shape_fn(IxDyn(s2), |i| Complex::new(b[&i], bi[&i]));
    let ar = a.mapv(|v| Complex::new(v, 0.0));
    let br = b.mapv(|v| Complex::new(v, 0.0));
    for mode in MODES {
        let Ok(g) = FftConvGeometry::new(s1, s2, axes, mode) else {
            continue;
        };
        let want_real = naive(&ar, &br, &g);
        let want_complex = naive(&ac, &bc, &g);
        for blocking in BLOCKINGS {
            let ctx = format!("{s1:?} {s2:?} {axes:?} {mode:?} {blocking:?}");
            let got = fftconvolve(a.view(), b.view(), mode, axes, blocking).unwrap();
            let got = got.mapv(|v| Complex::new(v, 0.0));
            assert!(rel_error(&got, &want_real) < 1e-12, "f64 {ctx}");
            let got = fftconvolve(ac.view(), bc.view(), mode, axes, blocking).unwrap();
            assert!(rel_error(&got, &want_complex) < 1e-12, "c128 {ctx}");
            let a32 = a.mapv(|v| v as f32);
            let b32 = b.mapv(|v| v as f32);
            let got = fftconvolve(a32.view(), b32.view(), mode, axes, blocking).unwrap();
            let got = got.mapv(|v| Complex::new(f64::from(v), 0.0));
            assert!(rel_error(&got, &want_real) < 1e-5, "f32 {ctx}");
        }
    }
}

#[test]
fn one_dimensional_against_naive() {
    let mut rng = Lcg(1);
    for (n, k) in [
        (1, 1),
        (2, 3),
        (7, 3),
        (13, 5),
        (100, 7),
        (97, 31),
        (300, 17),
        (5, 40),
        (64, 64),
        (211, 2),
    ] {
        check_case(&[n], &[k], None, &mut rng);
        check_case(&[k], &[n], None, &mut rng);
    }
}

#[test]
fn long_signal_uses_many_blocks() {
    let mut rng = Lcg(2);
    let g = FftConvGeometry::new(&[5000], &[33], None, Mode::Same).unwrap();
    let a = random(&[5000], &mut rng);
    let b = random(&[33], &mut rng);
    let got = convolve(a.view(), b.view(), &g, Blocking::Blocks).unwrap();
    let want = naive(
        &a.mapv(|v| Complex::new(v, 0.0)),
        &b.mapv(|v| Complex::new(v, 0.0)),
        &g,
    );
    assert!(rel_error(&got.mapv(|v| Complex::new(v, 0.0)), &want) < 1e-12);
}

#[test]
fn multi_dimensional_against_naive() {
    let mut rng = Lcg(3);
    check_case(&[9, 11], &[3, 4], None, &mut rng);
    check_case(&[40, 37], &[5, 6], None, &mut rng);
    check_case(&[4, 23], &[6, 5], None, &mut rng);
    check_case(&[5, 6, 7], &[2, 3, 4], None, &mut rng);
    check_case(&[5, 30, 7], &[2, 3, 4], Some(&[1, -1]), &mut rng);
    check_case(&[3, 40], &[3, 9], Some(&[1]), &mut rng);
    check_case(&[1, 40], &[4, 9], Some(&[1]), &mut rng);
    check_case(&[40, 3], &[9, 1], Some(&[0]), &mut rng);
    check_case(&[4, 17, 3], &[1, 5, 3], Some(&[1]), &mut rng);
    check_case(&[1, 5], &[4, 1], None, &mut rng);
    // Long enough for several blocks along both axes.
    check_case(&[150, 131], &[5, 6], None, &mut rng);
    check_case(&[2, 140, 3], &[1, 9, 3], Some(&[1]), &mut rng);
}

#[test]
fn thread_count_does_not_change_bits() {
    let mut rng = Lcg(4);
    let a = random(&[70, 300], &mut rng);
    let b = random(&[9, 21], &mut rng);
    for blocking in BLOCKINGS {
        let run = |threads| {
            crate::threads::run(threads, || {
                fftconvolve(a.view(), b.view(), Mode::Same, None, blocking)
            })
            .unwrap()
            .unwrap()
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
        // Large enough for the parallel schedules: check them against the
        // reference too, not only against each other.
        let g = FftConvGeometry::new(a.shape(), b.shape(), None, Mode::Same).unwrap();
        let want = naive(
            &a.mapv(|v| Complex::new(v, 0.0)),
            &b.mapv(|v| Complex::new(v, 0.0)),
            &g,
        );
        assert!(rel_error(&one.mapv(|v| Complex::new(v, 0.0)), &want) < 1e-12);
    }
}

#[test]
fn fast_lengths_are_smooth() {
    assert_eq!(fast_len(2062, false).unwrap(), 2100);
    assert_eq!(fast_len(2055, true).unwrap(), 2058);
    assert_eq!(fast_len(11, true).unwrap(), 12);
    assert_eq!(fast_len(1, true).unwrap(), 2);
}
