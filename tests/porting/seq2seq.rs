// A GRU encoder-decoder in the style of tch's translation example (embedding, nn::gru with
// RNNConfig, the RNN trait's step and GRUState, a greedy decoding loop with argmax feeding the
// next step). `tests/porting.rs` includes this file twice: under tch's use lines and under
// tapir's.

#[derive(Debug)]
struct Encoder {
    embedding: nn::Embedding,
    gru: nn::GRU,
}

impl Encoder {
    fn new(vs: nn::Path, in_dim: i64, hidden_dim: i64) -> Self {
        let embedding = nn::embedding(&vs / "enc_embedding", in_dim, hidden_dim, Default::default());
        let gru = nn::gru(&vs / "enc_gru", hidden_dim, hidden_dim, Default::default());
        Encoder { embedding, gru }
    }

    fn forward(&self, xs: &Tensor, state: &nn::GRUState) -> (Tensor, nn::GRUState) {
        let xs = self.embedding.forward(xs).view([1, -1]);
        let state = self.gru.step(&xs, state);
        (state.value().squeeze_dim(1), state)
    }
}

#[derive(Debug)]
struct Decoder {
    embedding: nn::Embedding,
    gru: nn::GRU,
    linear: nn::Linear,
}

impl Decoder {
    fn new(vs: nn::Path, hidden_dim: i64, out_dim: i64) -> Self {
        Decoder {
            embedding: nn::embedding(&vs / "dec_embedding", out_dim, hidden_dim, Default::default()),
            gru: nn::gru(&vs / "dec_gru", hidden_dim, hidden_dim, Default::default()),
            linear: nn::linear(&vs / "dec_linear", hidden_dim, out_dim, Default::default()),
        }
    }

    fn forward(&self, xs: &Tensor, state: &nn::GRUState) -> (Tensor, nn::GRUState) {
        let xs = self.embedding.forward(xs).view([1, -1]).relu();
        let state = self.gru.step(&xs, state);
        let logits = self.linear.forward(&state.value().squeeze_dim(0));
        (logits.log_softmax(-1, Kind::Float), state)
    }
}

struct Translator {
    enc: Encoder,
    dec: Decoder,
    steps: i64,
}

impl Translator {
    fn new(vs: nn::Path, in_vocab: i64, out_vocab: i64, hidden: i64, steps: i64) -> Self {
        Translator { enc: Encoder::new(&vs / "enc", in_vocab, hidden), dec: Decoder::new(&vs / "dec", hidden, out_vocab), steps }
    }

    /// Greedy decoding: the log-probabilities of each step, `[steps, 1, out_vocab]`.
    fn translate(&self, input: &Tensor) -> Tensor {
        let mut state = self.enc.gru.zero_state(1);
        for i in 0..input.size()[0] {
            let (_out, s) = self.enc.forward(&input.i(i), &state);
            state = s;
        }
        let mut prev = Tensor::zeros([1], (Kind::Int64, input.device()));
        let mut outputs = vec![];
        for _ in 0..self.steps {
            let (out, s) = self.dec.forward(&prev, &state);
            state = s;
            prev = out.argmax(-1, false);
            outputs.push(out);
        }
        Tensor::stack(&outputs, 0)
    }
}
