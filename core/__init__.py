"""The Hinge-GAN engine: losses, models, data, trainer, checkpoints. Pure PyTorch; never imports Qt."""

__version__ = "0.1.0"
