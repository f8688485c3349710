"""Weight and activation quantisers for low-bit networks, with their straight-through gradients.

- Binarisation, deterministic ``sign`` (sign(0) = +1) and stochastic with probability hard_sigmoid(x) =
  clip((x + 1) / 2, 0, 1) of +1 (Courbariaux et al., "BinaryConnect", NeurIPS 2015, eqs. 1-3). The
  gradient is the straight-through estimator of Hubara et al. ("Binarized Neural Networks", NeurIPS 2016):
  passed unchanged where |x| <= 1 and cancelled elsewhere.
- Ternarisation (Li et al., "Ternary Weight Networks", 2016): Δ = 0.7·E|W|, t = sign(W)·[|W| > Δ] and
  α = mean of |W| over the weights above Δ; the layer uses α·t, per layer.
- XNOR-Net weights (Rastegari et al., ECCV 2016): α_c·sign(W_c) with α_c = mean |W_c| per output filter.
- DoReFa k-bit (Zhou et al., 2016): quantize_k(x) = round((2^k − 1)·x) / (2^k − 1) with an identity
  gradient; weights w_k = 2·quantize_k(tanh(W) / (2·max|tanh W|) + 1/2) − 1, activations
  quantize_k(clip(x, 0, 1)).
Quantised weights with straight-through gradients are written ``w + (q − w).detach()``: the forward sees q,
the backward the gradient of the identity.
"""

import torch

TERNARY_THRESHOLD = 0.7  # Δ = 0.7·E|W|: Li et al.'s approximation of the optimal threshold for Gaussian W


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """±1 (sign(0) = +1) forward; gradient passed where |x| <= 1, zero elsewhere (Hubara et al. 2016)."""
    return _SignSTE.apply(x)


def binarize_stochastic(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """+1 with probability clip((x + 1) / 2, 0, 1), else −1 (BinaryConnect's stochastic binarisation)."""
    p = ((x + 1) / 2).clamp(0, 1)
    draw = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    q = torch.where(draw < p, 1.0, -1.0).to(x.dtype)
    deterministic = sign_ste(x)  # forward q, backward the same straight-through gradient as sign
    return deterministic + (q - deterministic).detach()


def ternary_parts(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TWN's ternary codes t ∈ {−1, 0, +1} and scale α of a weight tensor (no gradient)."""
    w = w.detach()
    delta = TERNARY_THRESHOLD * w.abs().mean()
    keep = w.abs() > delta
    t = torch.sign(w) * keep
    alpha = w.abs()[keep].mean() if keep.any() else w.new_zeros(())
    return t, alpha


def ternarize(w: torch.Tensor) -> torch.Tensor:
    """α·t with TWN's threshold and scale; the gradient passes straight through to ``w``."""
    t, alpha = ternary_parts(w)
    return w + (alpha * t - w).detach()


def xnor_scales(w: torch.Tensor) -> torch.Tensor:
    """XNOR-Net's α_c = mean |W_c| over each output filter c (shape broadcastable against ``w``)."""
    dims = tuple(range(1, w.dim()))
    return w.detach().abs().mean(dim=dims, keepdim=True)


def xnor_weights(w: torch.Tensor) -> torch.Tensor:
    """α_c·sign(W_c), with the straight-through sign gradient."""
    return xnor_scales(w) * sign_ste(w)


def quantize_k(x: torch.Tensor, bits: int) -> torch.Tensor:
    """round((2^k − 1)·x) / (2^k − 1) for x in [0, 1]; identity gradient (DoReFa)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    levels = 2**bits - 1
    return x + (torch.round(x * levels) / levels - x).detach()


def dorefa_weights(w: torch.Tensor, bits: int) -> torch.Tensor:
    """DoReFa's k-bit weights in [−1, 1]: 2·quantize_k(tanh(W) / (2·max|tanh W|) + 1/2) − 1."""
    t = torch.tanh(w)
    return 2 * quantize_k(t / (2 * t.abs().max().clamp_min(torch.finfo(t.dtype).tiny)) + 0.5, bits) - 1


def dorefa_activations(x: torch.Tensor, bits: int) -> torch.Tensor:
    """DoReFa's k-bit activations: quantize_k(clip(x, 0, 1))."""
    return quantize_k(x.clamp(0, 1), bits)
