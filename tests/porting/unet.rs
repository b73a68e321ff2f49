// A small UNet-style block written as on tch::nn: a strided conv with reflect padding, group
// norm, a transposed conv back up, the skip connection concatenated, and a 3-D convolution
// over a stack of the result. `tests/porting.rs` includes this file twice: under tch's use
// lines and under tapir's.

fn unet(p: nn::Path) -> impl nn::ModuleT {
    let down_cfg = nn::ConvConfig { stride: 2, padding: 1, padding_mode: nn::PaddingMode::Reflect, ..Default::default() };
    let down = nn::conv2d(&p / "down", 3, 8, 3, down_cfg);
    let gn = nn::group_norm(&p / "gn", 2, 8, Default::default());
    let up = nn::conv_transpose2d(&p / "up", 8, 4, 2, nn::ConvTransposeConfig { stride: 2, ..Default::default() });
    let head = nn::conv2d(&p / "head", 7, 3, 1, Default::default());
    let mix = nn::conv3d(&p / "mix", 1, 2, 3, nn::ConvConfig { padding: 1, ..Default::default() });
    nn::func_t(move |xs, _train| {
        let h = xs.apply(&down).apply(&gn).silu();
        let u = h.apply(&up);
        let y = Tensor::cat(&[u, xs.shallow_clone()], 1).apply(&head);
        y.unsqueeze(1).apply(&mix).mean_dim(1, false, Kind::Float)
    })
}
