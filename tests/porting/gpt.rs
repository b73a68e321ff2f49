// A GPT-style decoder written exactly as on tch::nn. `tests/porting.rs` includes this file
// twice: under `use tch::...` lines and under `use tapir...` lines; nothing else differs.

#[derive(Debug)]
struct CausalSelfAttention {
    c_attn: nn::Linear,
    c_proj: nn::Linear,
    n_head: i64,
    n_embd: i64,
}

fn causal_self_attention(p: &nn::Path, n_embd: i64, n_head: i64) -> CausalSelfAttention {
    let c_attn = nn::linear(p / "c_attn", n_embd, 3 * n_embd, Default::default());
    let c_proj = nn::linear(p / "c_proj", n_embd, n_embd, Default::default());
    CausalSelfAttention { c_attn, c_proj, n_head, n_embd }
}

impl nn::Module for CausalSelfAttention {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let (b, t, c) = xs.size3().unwrap();
        let hs = c / self.n_head;
        let qkv = xs.apply(&self.c_attn).split(self.n_embd, 2);
        let q = qkv[0].view((b, t, self.n_head, hs)).transpose(1, 2);
        let k = qkv[1].view((b, t, self.n_head, hs)).transpose(1, 2);
        let v = qkv[2].view((b, t, self.n_head, hs)).transpose(1, 2);
        let att = q.matmul(&k.transpose(-2, -1)) * (1.0 / (hs as f64).sqrt());
        let mask = Tensor::ones([t, t], (Kind::Float, xs.device())).tril(0).view((1, 1, t, t));
        let att = att.masked_fill(&mask.eq(0.), f64::NEG_INFINITY);
        let att = att.softmax(-1, Kind::Float);
        let ys = att.matmul(&v).transpose(1, 2).contiguous().view((b, t, c));
        ys.apply(&self.c_proj)
    }
}

fn mlp(p: nn::Path, n_embd: i64) -> impl nn::Module {
    let lin1 = nn::linear(&p / "c_fc", n_embd, 4 * n_embd, Default::default());
    let lin2 = nn::linear(&p / "c_proj", 4 * n_embd, n_embd, Default::default());
    nn::func(move |xs| xs.apply(&lin1).gelu("none").apply(&lin2))
}

fn block(p: nn::Path, n_embd: i64, n_head: i64) -> impl nn::ModuleT {
    let ln1 = nn::layer_norm(&p / "ln_1", vec![n_embd], Default::default());
    let ln2 = nn::layer_norm(&p / "ln_2", vec![n_embd], Default::default());
    let attn = causal_self_attention(&(&p / "attn"), n_embd, n_head);
    let mlp = mlp(&p / "mlp", n_embd);
    nn::func_t(move |xs, _train| {
        let xs = xs + xs.apply(&ln1).apply(&attn);
        &xs + xs.apply(&ln2).apply(&mlp)
    })
}

fn gpt(p: nn::Path, vocab: i64, block_size: i64, n_embd: i64, n_head: i64, n_layer: i64) -> impl nn::ModuleT {
    let wte = nn::embedding(&p / "wte", vocab, n_embd, Default::default());
    let wpe = nn::embedding(&p / "wpe", block_size, n_embd, Default::default());
    let ln_f = nn::layer_norm(&p / "ln_f", vec![n_embd], Default::default());
    let lm_head = nn::linear(&p / "lm_head", n_embd, vocab, nn::LinearConfig { bias: false, ..Default::default() });
    let mut blocks = nn::seq_t();
    for i in 0..n_layer {
        blocks = blocks.add(block(&p / "h" / i, n_embd, n_head));
    }
    nn::func_t(move |xs, train| {
        let (_b, t) = xs.size2().unwrap();
        let pos = Tensor::arange(t, (Kind::Int64, xs.device()));
        let x = xs.apply(&wte) + pos.apply(&wpe);
        x.apply_t(&blocks, train).apply(&ln_f).apply(&lm_head)
    })
}
