"""GAN losses as small pure functions over discriminator scores, plus per-step statistics.

Each discriminator loss returns its real and fake parts (the D loss is their sum) so that the
engine can log both without computing anything twice.
"""
import torch
import torch.nn.functional as F



def hinge_d_loss(d_real, d_fake, margin_real=1.0, margin_fake=1.0):
    """Hinge discriminator loss: E[max(0, m_real - D(x))] and E[max(0, m_fake + D(G(z)))]."""
    return F.relu(margin_real - d_real).mean(), F.relu(margin_fake + d_fake).mean()


def hinge_g_loss(d_fake):
    """Hinge generator loss: -E[D(G(z))]."""
    return -d_fake.mean()


def bce_d_loss(d_real, d_fake, margin_real=1.0, margin_fake=1.0):
    """Binary cross-entropy on logits: E[softplus(-D(x))] and E[softplus(D(G(z)))]; margins unused."""
    return F.softplus(-d_real).mean(), F.softplus(d_fake).mean()


def bce_g_loss(d_fake):
    """Non-saturating generator loss: E[softplus(-D(G(z)))] = -E[log sigmoid(D(G(z)))]."""
    return F.softplus(-d_fake).mean()


def wasserstein_d_loss(d_real, d_fake, margin_real=1.0, margin_fake=1.0):
    """Wasserstein critic loss: -E[D(x)] and E[D(G(z))]; margins unused (pair it with spectral norm)."""
    return -d_real.mean(), d_fake.mean()


def wasserstein_g_loss(d_fake):
    """Wasserstein generator loss: -E[D(G(z))]."""
    return -d_fake.mean()


LOSSES = {
    "hinge": (hinge_d_loss, hinge_g_loss),
    "bce": (bce_d_loss, bce_g_loss),
    "wasserstein": (wasserstein_d_loss, wasserstein_g_loss),
}


def margin_violation_rates(d_real, d_fake, margin_real, margin_fake):
    """Share of real samples with D(x) < m_real and of fakes with D(G(z)) > -m_fake: those still getting gradient."""
    return (d_real < margin_real).float().mean(), (d_fake > -margin_fake).float().mean()


def step_statistics(d_real, d_fake, real_loss, fake_loss, g_loss, margin_real, margin_fake):
    """All per-step statistics as one 1-D tensor on the scores' device, ordered as core.protocol.telemetry.STAT_NAMES.
    No host sync."""
    real_rate, fake_rate = margin_violation_rates(d_real, d_fake, margin_real, margin_fake)
    return torch.stack([
        real_loss + fake_loss, g_loss, real_loss, fake_loss,
        d_real.mean(), d_fake.mean(), real_rate, fake_rate,
    ]).detach()
