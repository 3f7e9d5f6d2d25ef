"""The Hinge-GAN Workbench: a Qt window over the core engine."""
