//! `LSTM` and `GRU` with PyTorch's parameter names (`weight_ih_l0`, `weight_hh_l0`,
//! `bias_ih_l0`, `bias_hh_l0`, `..._reverse` for the backward direction), several layers,
//! bidirectional, batch-first, optional initial states (zeros otherwise, passed explicitly to the
//! exported ONNX nodes).

use crate::{dotted, param, uniform_init};
use tapir::Tensor;

#[derive(Debug)]
struct RnnParams {
    /// Per layer and direction: w_ih, w_hh, b_ih, b_hh (zeros, not parameters, without biases).
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
                params.push(crate::var(p, &format!("weight_ih_l{l}{suffix}"), &[gates * hidden, in_l], init));
                params.push(crate::var(p, &format!("weight_hh_l{l}{suffix}"), &[gates * hidden, hidden], init));
                params.push(crate::var(p, &format!("bias_ih_l{l}{suffix}"), &[gates * hidden], init));
                params.push(crate::var(p, &format!("bias_hh_l{l}{suffix}"), &[gates * hidden], init));
            }
        }
        RnnParams { params, hidden, num_layers, bidirectional, batch_first, path: dotted(p) }
    }

    /// tch's layout and inits (`nn::gru`, `nn::lstm` with an `RNNConfig`): the same names, in the
    /// same order; without biases, zero biases that are not parameters.
    fn tch(p: &tch::nn::Path<'_>, gates: i64, input: i64, hidden: i64, c: &tch::nn::RNNConfig) -> Self {
        let dirs = if c.bidirectional { 2 } else { 1 };
        let mut params = vec![];
        for l in 0..c.num_layers {
            let in_l = if l == 0 { input } else { dirs * hidden };
            for d in 0..dirs {
                let suffix = if d == 1 { "_reverse" } else { "" };
                params.push(crate::var(p, &format!("weight_ih_l{l}{suffix}"), &[gates * hidden, in_l], c.w_ih_init));
                params.push(crate::var(p, &format!("weight_hh_l{l}{suffix}"), &[gates * hidden, hidden], c.w_hh_init));
                if c.has_biases {
                    let zero = tch::nn::Init::Const(0.0);
                    params.push(crate::var(
                        p,
                        &format!("bias_ih_l{l}{suffix}"),
                        &[gates * hidden],
                        c.b_ih_init.unwrap_or(zero),
                    ));
                    params.push(crate::var(
                        p,
                        &format!("bias_hh_l{l}{suffix}"),
                        &[gates * hidden],
                        c.b_hh_init.unwrap_or(zero),
                    ));
                } else {
                    for _ in 0..2 {
                        params.push(tch::Tensor::zeros([gates * hidden], (tch::Kind::Float, p.device())));
                    }
                }
            }
        }
        RnnParams {
            params,
            hidden,
            num_layers: c.num_layers,
            bidirectional: c.bidirectional,
            batch_first: c.batch_first,
            path: dotted(p),
        }
    }

    /// Zeros of the state's shape for `batch` sequences.
    fn zero_state(&self, batch: tapir::SymInt) -> Tensor {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let (kind, device) =
            self.params.first().map_or((tch::Kind::Float, tch::Device::Cpu), |p| (p.kind(), p.device()));
        Tensor::zeros((self.num_layers * dirs, batch, self.hidden), (kind, device))
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
        let batch = match x.sym_size3() {
            Ok((b, _, _)) if self.batch_first => b,
            Ok((_, b, _)) => b,
            Err(e) => return Tensor::from_error(e),
        };
        Tensor::zeros((self.num_layers * dirs, batch, self.hidden), (x.kind(), x.device()))
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
        let (n, bi, bf) = (self.0.num_layers, self.0.bidirectional, self.0.batch_first);
        let (o, h, c) = x.lstm(&[&h0, &c0], &refs, true, n, 0.0, false, bi, bf);
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
        x.gru(&h0, &refs, true, self.0.num_layers, 0.0, false, self.0.bidirectional, self.0.batch_first)
    }
}

/// tch's name for [`Lstm`].
pub type LSTM = Lstm;
/// tch's name for [`Gru`].
pub type GRU = Gru;

/// tch's `nn::gru`: parameters created as tch creates them.
pub fn gru<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    in_dim: i64,
    hidden_dim: i64,
    c: tch::nn::RNNConfig,
) -> Gru {
    Gru(RnnParams::tch(vs.borrow(), 3, in_dim, hidden_dim, &c))
}

/// tch's `nn::lstm`: parameters created as tch creates them.
pub fn lstm<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    in_dim: i64,
    hidden_dim: i64,
    c: tch::nn::RNNConfig,
) -> Lstm {
    Lstm(RnnParams::tch(vs.borrow(), 4, in_dim, hidden_dim, &c))
}

/// A GRU's state (tch's `nn::GRUState`): `[layers * directions, batch, hidden]`.
#[derive(Debug)]
pub struct GRUState(pub Tensor);

impl GRUState {
    /// The hidden state, also the GRU's output.
    pub fn value(&self) -> Tensor {
        self.0.shallow_clone()
    }
}

/// An LSTM's state (tch's `nn::LSTMState`): hidden and cell.
#[derive(Debug)]
pub struct LSTMState(pub (Tensor, Tensor));

impl LSTMState {
    /// The hidden state, also the LSTM's output.
    pub fn h(&self) -> Tensor {
        (self.0).0.shallow_clone()
    }

    /// The cell state.
    pub fn c(&self) -> Tensor {
        (self.0).1.shallow_clone()
    }
}

/// tch's `nn::RNN`: a recurrent layer run one step or a whole sequence at a time.
pub trait RNN {
    type State;

    /// The zero state for `batch_dim` sequences.
    fn zero_state(&self, batch_dim: impl Into<tapir::SymInt>) -> Self::State;

    /// One step on `[batch, features]`.
    fn step(&self, input: &Tensor, state: &Self::State) -> Self::State;

    /// The whole `input` from the zero state.
    #[track_caller]
    fn seq(&self, input: &Tensor) -> (Tensor, Self::State) {
        let batch_dim = input.sym_size().first().copied().unwrap_or(tapir::SymInt::from(1));
        let state = self.zero_state(batch_dim);
        self.seq_init(input, &state)
    }

    /// The whole `input` from `state`.
    fn seq_init(&self, input: &Tensor, state: &Self::State) -> (Tensor, Self::State);
}

impl RNN for Gru {
    type State = GRUState;

    fn zero_state(&self, batch_dim: impl Into<tapir::SymInt>) -> GRUState {
        GRUState(self.0.zero_state(batch_dim.into()))
    }

    #[track_caller]
    fn step(&self, input: &Tensor, state: &GRUState) -> GRUState {
        // As tch: the step is a sequence of one along dimension 1, whatever `batch_first` says.
        let input = input.unsqueeze(1);
        self.seq_init(&input, state).1
    }

    #[track_caller]
    fn seq_init(&self, input: &Tensor, state: &GRUState) -> (Tensor, GRUState) {
        let (output, h) = self.forward(input, Some(&state.0));
        (output, GRUState(h))
    }
}

impl RNN for Lstm {
    type State = LSTMState;

    fn zero_state(&self, batch_dim: impl Into<tapir::SymInt>) -> LSTMState {
        let batch = batch_dim.into();
        LSTMState((self.0.zero_state(batch), self.0.zero_state(batch)))
    }

    #[track_caller]
    fn step(&self, input: &Tensor, state: &LSTMState) -> LSTMState {
        // As tch: the step is a sequence of one along dimension 1, whatever `batch_first` says.
        let input = input.unsqueeze(1);
        self.seq_init(&input, state).1
    }

    #[track_caller]
    fn seq_init(&self, input: &Tensor, state: &LSTMState) -> (Tensor, LSTMState) {
        let (h, c) = &state.0;
        let (output, (h, c)) = self.forward(input, Some((h, c)));
        (output, LSTMState((h, c)))
    }
}
