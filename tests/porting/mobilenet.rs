// A MobileNet-V2-style network written as tch's vision/mobilenet.rs writes it (conv + batch norm
// + relu6 blocks, depthwise convolutions through `groups`, inverted residuals, dropout in the
// classifier). `tests/porting.rs` includes this file twice: under tch's use lines and under
// tapir's.

fn cbr(p: nn::Path, c_in: i64, c_out: i64, ks: i64, stride: i64, g: i64) -> impl nn::ModuleT {
    let conv2d = nn::ConvConfig { stride, padding: (ks - 1) / 2, groups: g, bias: false, ..Default::default() };
    let conv = nn::conv2d(&p / 0, c_in, c_out, ks, conv2d);
    let bn = nn::batch_norm2d(&p / 1, c_out, Default::default());
    nn::seq_t().add(conv).add(bn).add_fn(|xs| xs.relu6())
}

fn inv(p: nn::Path, c_in: i64, c_out: i64, stride: i64, er: i64) -> impl nn::ModuleT {
    let c_hidden = er * c_in;
    let mut conv = nn::seq_t();
    let mut id = 0;
    if er != 1 {
        conv = conv.add(cbr(&p / id, c_in, c_hidden, 1, 1, 1));
        id += 1;
    }
    let conv2d = nn::ConvConfig { bias: false, ..Default::default() };
    let conv = conv
        .add(cbr(&p / id, c_hidden, c_hidden, 3, stride, c_hidden))
        .add(nn::conv2d(&p / (id + 1), c_hidden, c_out, 1, conv2d))
        .add(nn::batch_norm2d(&p / (id + 2), c_out, Default::default()));
    nn::func_t(move |xs, train| {
        let ys = xs.apply_t(&conv, train);
        if stride == 1 && c_in == c_out {
            xs + ys
        } else {
            ys
        }
    })
}

const CFG: [(i64, i64, i64, i64); 4] = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 1, 1)];

fn mobilenet(p: nn::Path, classes: i64) -> impl nn::ModuleT {
    let f_p = &p / "features";
    let c_p = &p / "classifier";
    let mut c_in = 8;
    let mut features = nn::seq_t().add(cbr(&f_p / "0", 3, c_in, 3, 2, 1));
    let mut layer_idx = 0;
    for &(er, c_out, n, stride) in CFG.iter() {
        for i in 0..n {
            let stride = if i == 0 { stride } else { 1 };
            layer_idx += 1;
            features = features.add(inv(&f_p / layer_idx, c_in, c_out, stride, er));
            c_in = c_out;
        }
    }
    features = features.add(cbr(&f_p / (layer_idx + 1), c_in, 64, 1, 1, 1));
    let classifier = nn::seq_t().add_fn_t(|xs, train| xs.dropout(0.2, train)).add(nn::linear(&c_p / 1, 64, classes, Default::default()));
    nn::func_t(move |xs, train| {
        xs.apply_t(&features, train).adaptive_avg_pool2d([1, 1]).flat_view().apply_t(&classifier, train)
    })
}
