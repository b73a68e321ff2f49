//! `LSTM` and `GRU` with PyTorch's parameter names (`weight_ih_l0`, `weight_hh_l0`,
//! `bias_ih_l0`, `bias_hh_l0`, `..._reverse` for the backward direction), several layers,
//! bidirectional, batch-first, optional initial states (zeros otherwise, passed explicitly to the
//! exported ONNX nodes).

use crate::{dotted, param, uniform_init};
use tapir::Tensor;

#[derive(Debug)]
struct RnnParams {
    params: Vec<tch::Tensor>,
    hidden: i64,
    num_layers: i64,
    bidirectional: bool,
    batch_first: bool,
    path: String,
}

impl RnnParams {
    fn new(
        p: &tch::nn::Path<'_>,
        gates: i64,
        input: i64,
        hidden: i64,
        num_layers: i64,
        bidirectional: bool,
        batch_first: bool,
    ) -> Self {
        let dirs = if bidirectional { 2 } else { 1 };
        let init = uniform_init(hidden);
        let mut params = vec![];
        for l in 0..num_layers {
            let in_l = if l == 0 { input } else { dirs * hidden };
            for d in 0..dirs {
                let suffix = if d == 1 { "_reverse" } else { "" };
                params.push(p.var(&format!("weight_ih_l{l}{suffix}"), &[gates * hidden, in_l], init));
                params.push(p.var(&format!("weight_hh_l{l}{suffix}"), &[gates * hidden, hidden], init));
                params.push(p.var(&format!("bias_ih_l{l}{suffix}"), &[gates * hidden], init));
                params.push(p.var(&format!("bias_hh_l{l}{suffix}"), &[gates * hidden], init));
            }
        }
        RnnParams { params, hidden, num_layers, bidirectional, batch_first, path: dotted(p) }
    }

    /// The parameters as traced-op operands, in `torch.lstm`/`torch.gru` order.
    fn operands(&self) -> Vec<Tensor> {
        self.params.iter().map(param).collect()
    }

    /// Zero initial state `[layers * dirs, batch, hidden]` for a 3-D input `x`; for any other
    /// input, a tensor carrying the error (`x`'s own, or its rank) at the caller's location.
    #[track_caller]
    fn zeros(&self, x: &Tensor) -> Tensor {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let batch = match x.size3() {
            Ok((b, _, _)) if self.batch_first => b,
            Ok((_, b, _)) => b,
            Err(e) => return Tensor::from_error(e),
        };
        Tensor::zeros([self.num_layers * dirs, batch, self.hidden], (x.kind(), x.device()))
    }
}

/// PyTorch `nn.LSTM(input_size, hidden_size, num_layers, bias=True, batch_first, bidirectional)`.
#[derive(Debug)]
pub struct Lstm(RnnParams);

impl Lstm {
    pub fn new<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        input: i64,
        hidden: i64,
        num_layers: i64,
        bidirectional: bool,
        batch_first: bool,
    ) -> Self {
        Lstm(RnnParams::new(p.borrow(), 4, input, hidden, num_layers, bidirectional, batch_first))
    }

    /// Returns `(output, (h_n, c_n))`; `state` defaults to zeros. `x` is `[batch, seq, features]`
    /// (batch-first) or `[seq, batch, features]`.
    #[track_caller]
    pub fn forward(&self, x: &Tensor, state: Option<(&Tensor, &Tensor)>) -> (Tensor, (Tensor, Tensor)) {
        let _scope = tapir::enter_scope_path(&self.0.path);
        let (h0, c0) = match state {
            Some((h, c)) => (h.shallow_clone(), c.shallow_clone()),
            None => (self.0.zeros(x), self.0.zeros(x)),
        };
        let ps = self.0.operands();
        let refs: Vec<&Tensor> = ps.iter().collect();
        let (o, h, c) = x.lstm(&h0, &c0, &refs, self.0.num_layers, self.0.bidirectional, self.0.batch_first);
        (o, (h, c))
    }
}

/// PyTorch `nn.GRU(input_size, hidden_size, num_layers, bias=True, batch_first, bidirectional)`.
#[derive(Debug)]
pub struct Gru(RnnParams);

impl Gru {
    pub fn new<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        input: i64,
        hidden: i64,
        num_layers: i64,
        bidirectional: bool,
        batch_first: bool,
    ) -> Self {
        Gru(RnnParams::new(p.borrow(), 3, input, hidden, num_layers, bidirectional, batch_first))
    }

    /// Returns `(output, h_n)`; `h0` defaults to zeros. `x` as for [`Lstm::forward`].
    #[track_caller]
    pub fn forward(&self, x: &Tensor, h0: Option<&Tensor>) -> (Tensor, Tensor) {
        let _scope = tapir::enter_scope_path(&self.0.path);
        let h0 = match h0 {
            Some(h) => h.shallow_clone(),
            None => self.0.zeros(x),
        };
        let ps = self.0.operands();
        let refs: Vec<&Tensor> = ps.iter().collect();
        x.gru(&h0, &refs, self.0.num_layers, self.0.bidirectional, self.0.batch_first)
    }
}
