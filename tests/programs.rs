//! Property test: random programs of ops (elementwise, scalars, broadcasting binaries, reshapes,
//! transposes, reductions, softmax, concatenation) are traced, replayed and exported; replay and
//! tract must reproduce eager on the traced input, and replay on a second input must match eager.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tapir::{Tensor, Tracer};
use tapir_conformance::{compare, Tolerance};

/// One step of a program; operands are chosen from earlier values by index (mod their count).
#[derive(Debug, Clone)]
enum Step {
    Unary(u8),
    Scalar(u8, i8),
    Binary(u8, usize),
    Reshape(u8),
    Transpose(u8, u8),
    SumDim(u8),
    Softmax(u8),
    Cat(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..8).prop_map(Step::Unary),
        (0u8..4, -3i8..4).prop_map(|(o, v)| Step::Scalar(o, v)),
        (0u8..5, 0usize..8).prop_map(|(o, i)| Step::Binary(o, i)),
        (0u8..4).prop_map(Step::Reshape),
        (0u8..3, 0u8..3).prop_map(|(a, b)| Step::Transpose(a, b)),
        (0u8..3).prop_map(Step::SumDim),
        (0u8..3).prop_map(Step::Softmax),
        (0usize..8).prop_map(Step::Cat),
    ]
}

/// Runs `steps` from `x`; every value is kept so later steps can combine them.
fn run(steps: &[Step], x: &Tensor) -> Vec<Tensor> {
    let mut vals = vec![x.shallow_clone()];
    for s in steps {
        let h = vals.last().unwrap();
        let rank = h.dim() as i64;
        let d = |k: u8| if rank == 0 { 0 } else { k as i64 % rank };
        let next = match s {
            Step::Unary(k) => match k {
                0 => h.relu(),
                1 => h.sigmoid(),
                2 => h.tanh(),
                3 => h.clamp(-3.0, 3.0).exp(),
                4 => h.abs(),
                5 => -h,
                6 => h.silu(),
                _ => h.gelu("tanh"),
            },
            Step::Scalar(k, v) => {
                let v = *v as f64 * 0.5;
                match k {
                    0 => h + v,
                    1 => h * v,
                    2 => v - h,
                    _ => h.maximum(v),
                }
            }
            Step::Binary(k, i) => {
                let other = &vals[i % vals.len()];
                // Operands of another shape are reduced to a broadcastable scalar first.
                let other = if other.size() == h.size() { other.shallow_clone() } else { other.mean() };
                match k {
                    0 => h + &other,
                    1 => h - &other,
                    2 => h * &other,
                    3 => h.maximum(&other),
                    _ => h.minimum(&other),
                }
            }
            Step::Reshape(k) => {
                let n: i64 = h.size().iter().product();
                let shapes: [&[i64]; 4] = [&[n], &[2, -1], &[-1, 2], &[2, 3, -1]];
                let shape = shapes[*k as usize];
                if n % 6 == 0 || shape.len() < 3 && n % 2 == 0 || shape.len() == 1 {
                    h.reshape(shape)
                } else {
                    h.shallow_clone()
                }
            }
            Step::Transpose(a, b) => h.transpose(d(*a), d(*b)),
            Step::SumDim(k) => h.sum_dims(&[d(*k)], true),
            Step::Softmax(k) => h.softmax(d(*k)),
            Step::Cat(i) => {
                let other = &vals[i % vals.len()];
                if other.size() == h.size() && rank > 0 {
                    Tensor::cat(&[h, other], 0)
                } else {
                    h.shallow_clone()
                }
            }
        };
        vals.push(next);
    }
    vals
}

fn flat(t: &tch::Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(tch::Kind::Double).flatten(0, -1)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_replay_and_export_faithfully(steps in proptest::collection::vec(step(), 1..12), seed in 0i64..1000) {
        tch::manual_seed(seed);
        let x = tch::Tensor::randn([2, 3, 4], (tch::Kind::Float, tch::Device::Cpu));
        let program = |i: &[Tensor]| {
            let vals = run(&steps, &i[0]);
            vec![vals.last().unwrap().shallow_clone(), vals[vals.len() / 2].shallow_clone()]
        };
        let traced = Tracer::new().trace(program, &[&x]).unwrap();
        let tol = Tolerance { atol: 1e-4, rtol: 1e-4 };
        let eager = traced.eager_outputs();
        let replayed = traced.replay(&[&x]).unwrap();
        let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
        let tract = tapir::testing::run_tract(&bytes, &[&x]).unwrap();
        for k in 0..eager.len() {
            prop_assert!(compare(&flat(&replayed[k]), &flat(&eager[k]), tol).is_ok(), "replay output {k}\n{traced}");
            prop_assert_eq!(tract[k].size(), eager[k].size());
            let r = compare(&flat(&tract[k]), &flat(&eager[k]), tol);
            prop_assert!(r.is_ok(), "tract output {k}: {:?}\n{}", r, traced);
        }
        // The same program on a new input: replay matches eager.
        let y = tch::Tensor::randn([2, 3, 4], (tch::Kind::Float, tch::Device::Cpu));
        let again = traced.replay(&[&y]).unwrap();
        let direct: Vec<tch::Tensor> = program(&[Tensor::from(&y)]).iter().map(|t| t.to_tch().unwrap()).collect();
        for k in 0..direct.len() {
            prop_assert!(compare(&flat(&again[k]), &flat(&direct[k]), tol).is_ok(), "replay on a new input, output {k}");
        }
    }
}
