"""Adam on the CPU without torch.optim: torch.optim imports torch's compiler (torch._dynamo) the first time an
optimizer is built or stepped, 1.3 s of a two-core laptop's 4-second start (docs/performance.md). This is
torch.optim.Adam's foreach algorithm for one group without weight decay, the same operations in the same order
(bit for bit: tests/core/training/test_adam.py), with the same state_dict, so checkpoints move between them."""
from __future__ import annotations

import torch

# What torch.optim.Adam's state_dict says of a group besides lr, betas, eps and params: the same keys, so that
# either optimizer loads the other's checkpoints.
_TORCH_GROUP_FLAGS = {"weight_decay": 0, "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                      "differentiable": False, "fused": None, "decoupled_weight_decay": False}


class Adam:
    """Adam (Kingma & Ba 2015) over one group of parameters: param_groups[0]["lr"] and ["betas"] may change
    between steps; state[p] holds each parameter's step count and moments (a parameter whose state is dropped
    starts afresh, as in torch)."""

    def __init__(self, params, lr: float, betas: tuple[float, float], eps: float = 1e-8):
        self.param_groups = [{"params": list(params), "lr": lr, "betas": betas, "eps": eps}]
        self.state: dict[torch.Tensor, dict] = {}

    @property
    def _params(self) -> list[torch.Tensor]:
        return self.param_groups[0]["params"]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        params = [p for p in self._params if p.grad is not None]
        if not params:
            return
        for p in params:
            if p not in self.state:
                self.state[p] = {"step": torch.tensor(0.0),
                                 "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                 "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        states = [self.state[p] for p in params]
        grads = [p.grad for p in params]
        steps = [s["step"] for s in states]
        exp_avgs, exp_avg_sqs = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
        (beta1, beta2), lr = group["betas"], group["lr"]
        torch._foreach_add_(steps, torch.tensor(1.0), alpha=1.0)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        counts = [float(step) for step in steps]  # CPU scalars: no device to wait for
        step_size = [(lr / (1 - beta1 ** t)) * -1 for t in counts]
        denominator = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denominator, [(1 - beta2 ** t) ** 0.5 for t in counts])
        torch._foreach_add_(denominator, group["eps"])
        torch._foreach_addcdiv_(params, exp_avgs, denominator, step_size)

    def state_dict(self) -> dict:
        group = self.param_groups[0]
        index = {p: i for i, p in enumerate(self._params)}
        return {"state": {index[p]: state for p, state in self.state.items()},
                "param_groups": [{**_TORCH_GROUP_FLAGS, **{k: v for k, v in group.items() if k != "params"},
                                  "params": list(range(len(self._params)))}]}

    def load_state_dict(self, state_dict: dict) -> None:
        """torch.optim.Adam's state_dict or this one's: moments on each parameter's device and dtype; lr, betas
        and eps as saved."""
        (saved,) = state_dict["param_groups"]
        if len(saved["params"]) != len(self._params):
            raise ValueError(f"the saved optimizer has {len(saved['params'])} parameters, this one {len(self._params)}")
        by_id = dict(zip(saved["params"], self._params))
        self.state = {by_id[i]: {key: value if key == "step" else value.to(by_id[i].device, by_id[i].dtype)
                                 for key, value in state.items()}
                      for i, state in state_dict["state"].items()}
        group = self.param_groups[0]
        group.update({key: saved[key] for key in ("lr", "betas", "eps")})
