//! Naive element-by-element padding and its adjoint, straight from the
//! definitions: the reference that the kernels are tested against.

use super::{Boundary, PadPlan, source_index};
use crate::element::Element;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// Position `p` of a padded axis: `Ok(input index)` or `Err(side)` when it
/// takes the constant before (0) or after (1) the data.
fn source(
    p: usize,
    len: usize,
    [before, _]: [usize; 2],
    boundary: Boundary,
) -> Result<usize, usize> {
    let i = p as isize - before as isize;
    let found = if len == 0 {
        None
    } else {
        source_index(i, len, boundary)
    };
    found.ok_or(usize::from(i >= 0))
}

/// numpy.pad by definition: every output element looked up on its own.
pub fn pad<T: Copy>(input: &ArrayViewD<'_, T>, plan: &PadPlan, constants: &[[T; 2]]) -> ArrayD<T> {
    let pads = plan.pads();
    let boundary = plan.boundary();
    let in_shape = plan.in_shape();
    ArrayD::from_shape_fn(IxDyn(plan.out_shape()), |index| {
        let mut source_index = Vec::with_capacity(in_shape.len());
        let mut constant = None;
        for k in 0..in_shape.len() {
            match source(index[k], in_shape[k], pads[k], boundary) {
                Ok(i) => source_index.push(i),
                // The last axis in whose padding the element lies wins.
                Err(side) => constant = Some(constants[k][side]),
            }
        }
        constant.unwrap_or_else(|| input[IxDyn(&source_index)])
    })
}

/// The adjoint by definition: every gradient element added onto the input
/// element its position repeats, in the gradient's C order.
pub fn pad_backward<T: Element>(grad: &ArrayViewD<'_, T>, plan: &PadPlan) -> ArrayD<T> {
    let pads = plan.pads();
    let boundary = plan.boundary();
    let in_shape = plan.in_shape();
    let mut out = ArrayD::from_elem(IxDyn(in_shape), T::zero());
    for (index, &g) in grad.indexed_iter() {
        let target: Option<Vec<usize>> = (0..in_shape.len())
            .map(|k| source(index[k], in_shape[k], pads[k], boundary).ok())
            .collect();
        if let Some(target) = target {
            let slot = &mut out[IxDyn(&target)];
            *slot = slot.add(g);
        }
    }
    out
}
