//! Multi-layer LSTM and GRU (`torch.lstm` / `torch.gru` semantics: several layers, optional
//! bidirectional, optional batch-first, explicit initial states).
//!
//! ONNX: one LSTM / GRU node per layer (https://onnx.ai/onnx/operators/onnx__LSTM.html, opset 14
//! adds `layout`, which is not used: batch-first inputs are transposed instead, as tract needs).
//! Gate order is converted: PyTorch LSTM (i, f, g, o) to ONNX (i, o, f, c); PyTorch GRU (r, z, n)
//! to ONNX (z, r, h) with `linear_before_reset = 1`, which is PyTorch's formula. The per-layer
//! weights are reordered with Split/Concat on the initializers (constant-folded by runtimes);
//! initial states are always passed, sliced per layer from `h0`/`c0`.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs, Sym};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RnnKind {
    Lstm,
    Gru,
}

/// Inputs: `[x, h0, (c0,) params...]` with params per layer and direction
/// `w_ih, w_hh, b_ih, b_hh`. Outputs: `[output, h_n, (c_n)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rnn {
    pub kind: RnnKind,
    pub hidden: i64,
    pub num_layers: i64,
    pub bidirectional: bool,
    pub batch_first: bool,
    /// Dropout between layers when `train` (eager only: random, so refused at lowering).
    pub dropout: f64,
    pub train: bool,
}

impl Rnn {
    fn states(&self) -> usize {
        match self.kind {
            RnnKind::Lstm => 2,
            RnnKind::Gru => 1,
        }
    }
    /// ONNX gate `k` is PyTorch gate `ORDER[k]`.
    fn order(&self) -> &'static [usize] {
        match self.kind {
            RnnKind::Lstm => &[0, 3, 1, 2],
            RnnKind::Gru => &[1, 0, 2],
        }
    }
    fn dirs(&self) -> i64 {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Checks every operand's shape before libtorch sees it: libtorch's RNN kernels trust the
    /// weights' shapes, and mismatched ones can corrupt memory instead of failing.
    fn check_shapes(&self, x: &tch::Tensor, hx: &[&tch::Tensor], params: &[&tch::Tensor]) -> Result<(), tch::TchError> {
        let bad = |what: String| Err(tch::TchError::Shape(what));
        let (h, d) = (self.hidden, self.dirs());
        let gates = match self.kind {
            RnnKind::Lstm => 4,
            RnnKind::Gru => 3,
        };
        let xs = x.size();
        if xs.len() != 3 {
            return bad(format!("{} input must be 3-D, got {xs:?}", self.name()));
        }
        let batch = if self.batch_first { xs[0] } else { xs[1] };
        for (k, s) in hx.iter().enumerate() {
            let want = [self.num_layers * d, batch, h];
            if s.size() != want {
                return bad(format!("{} state {k} must be {want:?}, got {:?}", self.name(), s.size()));
            }
        }
        if params.len() as i64 != self.num_layers * d * 4 {
            return bad(format!("{} takes {} parameters, got {}", self.name(), self.num_layers * d * 4, params.len()));
        }
        for (i, p) in params.iter().enumerate() {
            let layer = i as i64 / (4 * d);
            let input = if layer == 0 { xs[2] } else { d * h };
            let want: Vec<i64> = match i % 4 {
                0 => vec![gates * h, input],
                1 => vec![gates * h, h],
                _ => vec![gates * h],
            };
            if p.size() != want {
                return bad(format!("{} parameter {i} must be {want:?}, got {:?}", self.name(), p.size()));
            }
        }
        Ok(())
    }
}

/// Reorders the gate blocks (each `hidden` rows) of a PyTorch weight or bias into ONNX order.
fn reorder(cx: &mut dyn Emit, w: Sym, hidden: i64, order: &[usize]) -> Sym {
    let sizes = cx.const_i64s(&vec![hidden; order.len()]);
    let parts = cx.node_n("Split", &[w, sizes], vec![("axis", Attr::Int(0))], order.len());
    let ordered: Vec<Sym> = order.iter().map(|i| parts[*i]).collect();
    cx.node("Concat", &ordered, vec![("axis", Attr::Int(0))])
}

fn concat0(cx: &mut dyn Emit, parts: &[Sym]) -> Sym {
    if parts.len() == 1 {
        parts[0]
    } else {
        cx.node("Concat", parts, vec![("axis", Attr::Int(0))])
    }
}

impl OpDef for Rnn {
    /// `[output, h_n]`, then `c_n` for an LSTM.
    type Output = Vec<tch::Tensor>;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let (dirs, h) = (1 + self.bidirectional as i64, self.hidden);
        let (t, b) = if self.batch_first { (x[1], x[0]) } else { (x[0], x[1]) };
        let out: SymDims = if self.batch_first {
            smallvec::smallvec![b, t, SymInt::from(dirs * h)]
        } else {
            smallvec::smallvec![t, b, SymInt::from(dirs * h)]
        };
        let state: SymDims = smallvec::smallvec![SymInt::from(self.num_layers * dirs), b, SymInt::from(h)];
        let mut shapes = vec![out];
        shapes.extend(std::iter::repeat_n(state, self.states()));
        Some(shapes)
    }
    fn name(&self) -> &'static str {
        match self.kind {
            RnnKind::Lstm => "lstm",
            RnnKind::Gru => "gru",
        }
    }
    fn num_outputs(&self) -> usize {
        1 + self.states()
    }
    fn describe(&self) -> String {
        format!(
            "hidden={}, layers={}, bidirectional={}, batch_first={}",
            self.hidden, self.num_layers, self.bidirectional, self.batch_first
        )
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError> {
        let states = self.states();
        let (x, hx, params) = (t[0], &t[1..1 + states], &t[1 + states..]);
        self.check_shapes(x, hx, params)?;
        let (layers, bi, bf, p, train) = (self.num_layers, self.bidirectional, self.batch_first, self.dropout, self.train);
        match self.kind {
            RnnKind::Lstm => {
                let (o, h, c) = x.f_lstm(hx, params, true, layers, p, train, bi, bf)?;
                Ok(vec![o, h, c])
            }
            RnnKind::Gru => {
                let (o, h) = x.f_gru(hx[0], params, true, layers, p, train, bi, bf)?;
                Ok(vec![o, h])
            }
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        if self.train && self.dropout > 0.0 && self.num_layers > 1 {
            let why = "dropout between layers in training mode is random: trace with train = false";
            return Err(LowerError::new(self.name(), cx.opset(), why));
        }
        let (h, d) = (self.hidden, self.dirs());
        let states = self.states();
        let x_shape = cx.input_dims(0);
        let (t_len, batch) = if self.batch_first { (x_shape[1], x_shape[0]) } else { (x_shape[0], x_shape[1]) };
        let mut x = cx.input(0);
        if self.batch_first {
            x = cx.node("Transpose", &[x], vec![("perm", Attr::Ints(vec![1, 0, 2]))]);
        }
        let order = self.order();
        let mut finals: Vec<Vec<Sym>> = vec![vec![]; states];
        for l in 0..self.num_layers {
            let (mut ws, mut rs, mut bs) = (vec![], vec![], vec![]);
            for dir in 0..d {
                let base = 1 + states + ((l * d + dir) * 4) as usize;
                let (w_ih, w_hh, b_ih, b_hh) =
                    (cx.input(base), cx.input(base + 1), cx.input(base + 2), cx.input(base + 3));
                let w = reorder(cx, w_ih, h, order);
                ws.push(emit::unsqueeze(cx, w, &[0]));
                let r = reorder(cx, w_hh, h, order);
                rs.push(emit::unsqueeze(cx, r, &[0]));
                let bi = reorder(cx, b_ih, h, order);
                let bh = reorder(cx, b_hh, h, order);
                let b = cx.node("Concat", &[bi, bh], vec![("axis", Attr::Int(0))]);
                bs.push(emit::unsqueeze(cx, b, &[0]));
            }
            let (w, r, b) = (concat0(cx, &ws), concat0(cx, &rs), concat0(cx, &bs));
            let (starts, ends, axes) = (cx.const_i64s(&[l * d]), cx.const_i64s(&[(l + 1) * d]), cx.const_i64s(&[0]));
            let mut inputs = vec![x, w, r, b, cx.absent()];
            for s in 0..states {
                let init = cx.input(1 + s);
                inputs.push(cx.node("Slice", &[init, starts, ends, axes], vec![]));
            }
            let mut attrs = vec![
                ("hidden_size", Attr::Int(h)),
                ("direction", Attr::String(if self.bidirectional { "bidirectional" } else { "forward" }.into())),
            ];
            let op_type = match self.kind {
                RnnKind::Lstm => "LSTM",
                RnnKind::Gru => {
                    attrs.push(("linear_before_reset", Attr::Int(1)));
                    "GRU"
                }
            };
            let outs = cx.node_n(op_type, &inputs, attrs, 1 + states);
            for s in 0..states {
                finals[s].push(outs[1 + s]);
            }
            // Y [T, D, B, H] -> [T, B, D * H], the next layer's input.
            let y = cx.node("Transpose", &[outs[0]], vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))]);
            x = emit::reshape_dims(cx, y, &[t_len, batch, SymInt::from(d * h)]);
        }
        let out =
            if self.batch_first { cx.node("Transpose", &[x], vec![("perm", Attr::Ints(vec![1, 0, 2]))]) } else { x };
        let mut result = Outputs::new();
        result.push(out);
        for s in finals {
            result.push(concat0(cx, &s));
        }
        Ok(result)
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "lstm", methods: "`lstm`" }, OpDoc { name: "gru", methods: "`gru`" }];

/// The flat parameter list with zero biases where there are none (`has_biases = false`): the
/// op always takes four tensors per layer and direction.
#[track_caller]
fn with_biases<T: std::borrow::Borrow<Tensor>>(params: &[T], has_biases: bool, like: &Tensor) -> Vec<Tensor> {
    if has_biases {
        return params.iter().map(|p| p.borrow().shallow_clone()).collect();
    }
    let mut out = vec![];
    for pair in params.chunks(2) {
        out.extend(pair.iter().map(|p| p.borrow().shallow_clone()));
        let rows = pair.first().map_or(0, |w| w.borrow().size_unchecked().first().copied().unwrap_or(0));
        for _ in 0..2 {
            out.push(Tensor::zeros([rows], (like.kind(), like.device())));
        }
    }
    out
}

impl Tensor {
    /// Multi-layer LSTM (tch's signature): `hx` is `[h0, c0]` (`[layers * dirs, B, H]`),
    /// `params` per layer and direction `w_ih [4H, in]`, `w_hh [4H, H]` and, with
    /// `has_biases`, `b_ih [4H]`, `b_hh [4H]` (PyTorch's layout). `dropout` applies between
    /// layers when `train` (eager only). Returns `(output, h_n, c_n)`.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn lstm<T: std::borrow::Borrow<Tensor>>(
        &self,
        hx: &[T],
        params: &[T],
        has_biases: bool,
        num_layers: i64,
        dropout: f64,
        train: bool,
        bidirectional: bool,
        batch_first: bool,
    ) -> (Tensor, Tensor, Tensor) {
        let [h0, c0] = hx else {
            let e = super::bad_argument("lstm", format!("hx holds h0 and c0, got {} tensors", hx.len()));
            return (e.shallow_clone(), e.shallow_clone(), e);
        };
        let (h0, c0) = (h0.borrow(), c0.borrow());
        let hidden = h0.size_unchecked().last().copied().unwrap_or(0);
        let op = Rnn { kind: RnnKind::Lstm, hidden, num_layers, bidirectional, batch_first, dropout, train };
        let params = with_biases(params, has_biases, self);
        let mut inputs = vec![self, h0, c0];
        inputs.extend(params.iter());
        let mut outs = record(op, &inputs).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }

    /// Multi-layer GRU (tch's signature), as [`Tensor::lstm`] without the cell state; params use
    /// PyTorch's `[3H, ...]` layout. Returns `(output, h_n)`.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn gru<T: std::borrow::Borrow<Tensor>>(
        &self,
        hx: &Tensor,
        params: &[T],
        has_biases: bool,
        num_layers: i64,
        dropout: f64,
        train: bool,
        bidirectional: bool,
        batch_first: bool,
    ) -> (Tensor, Tensor) {
        let hidden = hx.size_unchecked().last().copied().unwrap_or(0);
        let op = Rnn { kind: RnnKind::Gru, hidden, num_layers, bidirectional, batch_first, dropout, train };
        let params = with_biases(params, has_biases, self);
        let mut inputs = vec![self, hx];
        inputs.extend(params.iter());
        let mut outs = record(op, &inputs).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }
}
