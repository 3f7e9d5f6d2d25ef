"""The Hinge-GAN engine. Its subpackages are layers, each importing only those listed before it:
base, protocol, config, storage and health need no torch (the window's process uses them); distributed,
training, quality, session and tools are the engine. cli.py is `hinge-train`. Never imports Qt."""

__version__ = "0.1.0"
