import copy

import torch
from torch import nn

from core.training.adam import Adam


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def train(net, optimizer, steps, start=0):
    for i in range(start, start + steps):
        x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(i))
        optimizer.zero_grad(set_to_none=True)
        net(x).square().mean().backward()
        optimizer.step()
        if i == start + 2:  # a live change of rate, as the Controls dock makes
            optimizer.param_groups[0]["lr"] = 5e-3


def weights(net):
    return [p.detach().clone() for p in net.parameters()]


def test_the_same_weights_as_torchs_adam_bit_for_bit():
    ours, theirs = model(), model()
    train(ours, Adam(ours.parameters(), lr=1e-2, betas=(0.0, 0.9)), 12)
    train(theirs, torch.optim.Adam(theirs.parameters(), lr=1e-2, betas=(0.0, 0.9)), 12)
    for a, b in zip(weights(ours), weights(theirs)):
        assert torch.equal(a, b)


def test_checkpoints_move_between_the_two_and_resume_bit_for_bit():
    straight = model()
    train(straight, Adam(straight.parameters(), lr=1e-2, betas=(0.5, 0.99)), 10)

    first = model()
    theirs = torch.optim.Adam(first.parameters(), lr=1e-2, betas=(0.5, 0.99))
    train(first, theirs, 5)
    resumed = copy.deepcopy(first)
    ours = Adam(resumed.parameters(), lr=1.0, betas=(0.0, 0.0))
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
    assert ours.param_groups[0]["lr"] == 5e-3 and ours.param_groups[0]["betas"] == (0.5, 0.99)
    train(resumed, ours, 5, start=5)
    for a, b in zip(weights(resumed), weights(straight)):
        assert torch.equal(a, b)

    back = torch.optim.Adam(model().parameters(), lr=1.0)
    back.load_state_dict(ours.state_dict())  # torch reads ours
    assert back.state_dict()["state"][0]["step"] == 10


def test_a_parameter_whose_state_is_dropped_starts_afresh():
    net = model()
    optimizer = Adam(net.parameters(), lr=1e-2, betas=(0.0, 0.9))
    train(net, optimizer, 3)
    first = next(net.parameters())
    optimizer.state.pop(first)
    train(net, optimizer, 1, start=3)
    assert optimizer.state[first]["step"] == 1
    assert [float(optimizer.state[p]["step"]) for p in list(net.parameters())[1:]] == [4.0] * 5
