// A ResNet-style image classifier written exactly as on tch::nn (conv2d and batch_norm2d with
// their configs, ModuleT blocks, func_t, seq_t, apply_t with the train flag, flat_view).
// `tests/porting.rs` includes this file twice: under tch's use lines and under tapir's.

fn conv_bn(p: nn::Path, c_in: i64, c_out: i64, stride: i64) -> impl nn::ModuleT {
    let conv2d_cfg = nn::ConvConfig { stride, padding: 1, bias: false, ..Default::default() };
    let conv = nn::conv2d(&p / "conv", c_in, c_out, 3, conv2d_cfg);
    let bn = nn::batch_norm2d(&p / "bn", c_out, Default::default());
    nn::func_t(move |xs, train| xs.apply(&conv).apply_t(&bn, train))
}

fn basic_block(p: nn::Path, c_in: i64, c_out: i64, stride: i64) -> impl nn::ModuleT {
    let conv1 = conv_bn(&p / "c1", c_in, c_out, stride);
    let conv2 = conv_bn(&p / "c2", c_out, c_out, 1);
    let downsample = if stride != 1 || c_in != c_out {
        let cfg = nn::ConvConfig { stride, bias: false, ..Default::default() };
        Some(nn::conv2d(&p / "down", c_in, c_out, 1, cfg))
    } else {
        None
    };
    nn::func_t(move |xs, train| {
        let ys = xs.apply_t(&conv1, train).relu().apply_t(&conv2, train);
        (xs.apply_opt(&downsample) + ys).relu()
    })
}

fn resnet(p: nn::Path, classes: i64) -> impl nn::ModuleT {
    let stem = conv_bn(&p / "stem", 3, 8, 1);
    let layers = nn::seq_t()
        .add(basic_block(&p / "l1", 8, 8, 1))
        .add(basic_block(&p / "l2", 8, 16, 2))
        .add(basic_block(&p / "l3", 16, 16, 1));
    let fc = nn::linear(&p / "fc", 16, classes, Default::default());
    nn::func_t(move |xs, train| {
        xs.apply_t(&stem, train)
            .relu()
            .max_pool2d_default(2)
            .apply_t(&layers, train)
            .adaptive_avg_pool2d([1, 1])
            .flat_view()
            .apply(&fc)
    })
}
