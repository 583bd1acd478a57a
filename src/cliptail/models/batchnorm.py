"""Batch norm synchronised across data-parallel processes (SyncBN), on GPUs and on CPU.

``torch.nn.SyncBatchNorm`` only runs on accelerators; the CPU/gloo path (used by the tests and by
CPU-only clusters) needs its own implementation. :class:`SyncBatchNorm2d` computes the training
statistics over the *global* batch with two differentiable all-reduces (:func:`all_reduce_sum`; a two-pass mean and
variance, so the result equals ``BatchNorm2d`` on the concatenated batch):

    mean = sum_ranks sum_{n,h,w} x / N,    var = sum_ranks sum_{n,h,w} (x - mean)^2 / N,
    y = (x - mean) / sqrt(var + eps) * weight + bias,

with N the global number of values per channel. Running statistics use the unbiased variance
``var * N / (N - 1)`` and the module's momentum, exactly like ``BatchNorm2d``. The all-reduces
carry gradients, so the backward pass is that of batch norm over the global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of every input is the sum of the output gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone()
        dist.all_reduce(out)
        return out


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    return _AllReduceSum.apply(x)


class SyncBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training statistics cover the batches of all processes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _distributed()):
            return super().forward(x)
        dims = (0, 2, 3)
        xf = x.float()
        count = torch.tensor([xf.numel() // xf.shape[1]], dtype=xf.dtype, device=xf.device)
        total = all_reduce_sum(torch.cat([xf.sum(dim=dims), count]))
        n = total[-1]
        mean = total[:-1] / n
        centred = xf - mean[None, :, None, None]
        var = all_reduce_sum(centred.pow(2).sum(dim=dims)) / n
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (
                    self.momentum
                    if self.momentum is not None
                    else 1.0 / float(self.num_batches_tracked)
                )
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                unbiased = var.detach() * n / (n - 1).clamp(min=1)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        return y.to(x.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every ``BatchNorm2d`` of ``module`` by a synchronised one (weights and stats kept).

    On CUDA this is ``torch.nn.SyncBatchNorm``; elsewhere :class:`SyncBatchNorm2d`. Either way a
    parameter that needs no gradient (a frozen module, e.g. DINO's EMA teacher) keeps needing none.
    """
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_cpu(module)


def _convert_cpu(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, SyncBatchNorm2d):
        new = SyncBatchNorm2d(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        new.load_state_dict(module.state_dict())
        for name, param in module.named_parameters(recurse=False):  # frozen stays frozen
            getattr(new, name).requires_grad_(param.requires_grad)
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, _convert_cpu(child))
    return module
