"""BatchNorm over the global batch of a run trained by several processes."""
from __future__ import annotations

import torch
from torch import nn

from core.distributed.collectives import sum_over_ranks_


class _SumOverRanks(torch.autograd.Function):
    """A sum over ranks that gradients flow back through: each rank's input feeds every rank's output, so
    its gradient is the sum of every rank's output gradient."""

    @staticmethod
    def forward(ctx, tensor):
        return sum_over_ranks_(tensor.clone())

    @staticmethod
    def backward(ctx, grad):
        return sum_over_ranks_(grad.clone())


class AllReduceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch, summed over every rank.

    torch's SyncBatchNorm does this on CUDA only (torch 2.14 refuses CPU tensors), and the CPU (gloo) is
    where every test runs, so one implementation serves both backends. Its state dict is BatchNorm2d's:
    checkpoints move between world sizes. Two passes (mean, then squared deviations), as BatchNorm's own
    kernel, so a world of N matches one process to float precision.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        dtype, x = x.dtype, x.float()  # statistics in fp32 under bf16 autocast, as BatchNorm2d's own kernel
        dims = (0, 2, 3)
        count = torch.tensor(float(x.numel() // x.shape[1]), device=x.device)
        totals = _SumOverRanks.apply(torch.cat([x.sum(dims), count.view(1)]))
        n = totals[-1]
        mean = totals[:-1] / n
        centred = x - mean.view(1, -1, 1, 1)
        var = _SumOverRanks.apply(centred.square().sum(dims)) / n
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), n.detach())
        out = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return out.to(dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean, var, n) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean, factor)
        self.running_var.lerp_(var * n / (n - 1), factor)
