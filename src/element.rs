//! Element types the kernels are generic over.
//!
//! Every kernel is written once against [`Element`] (or [`Real`] where it
//! needs ordering or transcendental functions); dtype dispatch happens only in
//! the binding layer.

use num_complex::Complex;

/// A numeric element: the ring operations a convolution needs.
///
/// Integer types use wrapping arithmetic, because scipy.signal computes
/// integer convolutions in the integer type and wraps on overflow.
pub trait Element: Copy + Send + Sync + Default + PartialEq + std::fmt::Debug + 'static {
    /// The additive identity.
    fn zero() -> Self {
        Self::default()
    }
    /// `self + a * b` (wrapping for integers; not fused for floats, so every
    /// code path rounds the same way).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self + other`, wrapping for integers.
    fn add(self, other: Self) -> Self;
    /// `self * other`, wrapping for integers.
    fn mul(self, other: Self) -> Self;
}

macro_rules! float_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self { self + a * b }
            #[inline(always)]
            fn add(self, other: Self) -> Self { self + other }
            #[inline(always)]
            fn mul(self, other: Self) -> Self { self * other }
        }
        impl Element for Complex<$t> {
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self { self + a * b }
            #[inline(always)]
            fn add(self, other: Self) -> Self { self + other }
            #[inline(always)]
            fn mul(self, other: Self) -> Self { self * other }
        }
    )*};
}
float_element!(f32, f64);

macro_rules! int_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self { self.wrapping_add(a.wrapping_mul(b)) }
            #[inline(always)]
            fn add(self, other: Self) -> Self { self.wrapping_add(other) }
            #[inline(always)]
            fn mul(self, other: Self) -> Self { self.wrapping_mul(other) }
        }
    )*};
}
int_element!(i8, i16, i32, i64, u8, u16, u32, u64);

/// A real floating-point element (f32, f64): what the CNN family and the
/// pooling kernels compute in.
pub trait Real:
    Element + num_traits::Float + num_traits::FromPrimitive + std::iter::Sum + std::fmt::Display
{
}
impl Real for f32 {}
impl Real for f64 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_wrap_like_numpy() {
        assert_eq!(100i8.mul_add(20, 10), 44); // 100 + 200 wraps to 300 - 256
        assert_eq!(250u8.add(10), 4);
    }

    #[test]
    fn complex_multiplies() {
        let i = Complex::new(0.0f64, 1.0);
        assert_eq!(
            Complex::new(0.0, 0.0).mul_add(i, i),
            Complex::new(-1.0, 0.0)
        );
    }
}
