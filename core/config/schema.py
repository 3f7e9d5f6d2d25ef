"""The settings of a run: one dataclass a section, with their defaults and the choices each takes."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["POINT_SOURCES", "DATA_SOURCES", "TORCHVISION_NAMES", "LOSS_KINDS", "PRECISIONS", "AUGMENTATIONS",
           "COMPILE_MODES", "SWITCHES", "DISCRIMINATORS", "UPSAMPLINGS", "DEPTHS", "IMAGE_SIZES", "MAX_MARGIN",
           "MAX_LR", "MAX_THREADS", "MAX_CLASSES", "DataConfig", "ModelConfig", "LossConfig", "OptimConfig",
           "TrainConfig", "EvalConfig", "HealthConfig", "Config", "RECORD_ONLY", "SECTIONS"]

POINT_SOURCES = ("ring8", "grid25")  # 2D mixtures; every other source is a set of images
DATA_SOURCES = (*POINT_SOURCES, "digits", "idx", "torchvision", "folder")
TORCHVISION_NAMES = ("MNIST", "FashionMNIST", "CIFAR10")
LOSS_KINDS = ("hinge", "bce", "wasserstein")
PRECISIONS = ("fp32", "bf16", "auto")
AUGMENTATIONS = ("color", "translation", "cutout")  # DiffAugment's policies, in the order they apply
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
SWITCHES = ("auto", "on", "off")
DISCRIMINATORS = ("sn", "bn")
UPSAMPLINGS = ("transposed", "nearest")
DEPTHS = (1, 2, 3)  # convs per resolution in G and D
IMAGE_SIZES = (32, 64)
MAX_MARGIN = 100.0
MAX_LR = 1.0
MAX_THREADS = 1024
MAX_CLASSES = 1000


@dataclass
class DataConfig:
    source: str = "digits"
    root: str = ""
    name: str = ""  # torchvision dataset name
    download: bool = False
    image_size: int = 32
    channels: int = 1
    n_samples: int = 10000  # size of the embedded digits set
    background: str = "white"  # a folder's transparent pixels are composited over this colour (name or #rrggbb)
    memory_budget_mb: int = 2048  # a folder's decoded images beyond this train memory-mapped from the cache
    labels: str = ""  # a folder's classes: "" (none), "folders" (each image's first subfolder) or a CSV file of
    # file,class rows (file relative to data.root); images without a label are left out
    holdout: float = 0.0  # this share of the images is held out, never trained on (every 1/holdout-th in file
    # order): the health watch compares D on them with D on trained ones (d_memorises)


@dataclass
class ModelConfig:
    z_dim: int = 64
    g_width: int = 32
    g_upsample: str = "transposed"  # "nearest": resize + 3x3 conv instead of 4x4 transposed convs
    g_depth: int = 1  # convs per resolution in G: 2 adds a 3x3 conv + BatchNorm + ReLU after each doubling
    d_width: int = 32
    d_depth: int = 1  # convs per resolution in D: 2 adds a 3x3 stride-1 conv after each stride-2 one
    discriminator: str = "sn"  # "sn": no BatchNorm; "bn": the classic conv + BatchNorm hinge discriminator
    spectral_norm: bool = True
    classes: int = 0  # K > 0: class-conditional on labelled images (G gets a one-hot class after z, D projects it)
    mlp_hidden: int = 128
    mlp_depth: int = 3


@dataclass
class LossConfig:
    kind: str = "hinge"
    margin_real: float = 1.0
    margin_fake: float = 1.0


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9


@dataclass
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    n_dis: int = 1
    seed: int = 0
    checkpoint_every: int = 1000
    autosave_minutes: float = 1.0  # also save last.pt this often, whatever the step count: a crash costs <= 1 min
    keep_checkpoints: int = 10  # the newest step-N.pt kept (0: all); older ones are deleted, save keep_every's
    keep_every: int = 10000  # also keep every step-N.pt whose step is a multiple of this (0: none)
    publish_every_s: float = 0.2
    samples_every_s: float = 2.0
    n_fixed: int = 64
    threads: int = 0  # CPU threads of the step; 0: as many as other processes leave free (core/base/cpu.py)
    augment: str = "off"  # DiffAugment before D, on real and fake: "off" or policies joined by commas, such as
    # "translation" (random shifts) or "color,translation,cutout" (Zhao et al.'s full policy; core/training/augment.py)
    g_ema: float = 0.0  # decay of an exponential moving average of G's weights, used for every sample; 0: off
    precision: str = "fp32"  # "bf16": forwards under bf16 autocast (spectral norm's power iteration stays fp32);
    # "auto": bf16 for image models on a CPU with bf16 instructions (core.training.speedups.resolve_precision), else fp32
    # (GPUs included: unmeasured there); the run's config.json records the choice
    compile: str = "off"  # torch.compile the models: a mode (default, reduce-overhead, max-autotune) or a backend
    channels_last: str = "auto"  # image models in channels_last memory format: auto (on CUDA), on, off
    cudnn_benchmark: bool = True  # CUDA: let cuDNN time its convolution algorithms and keep the fastest


@dataclass
class EvalConfig:
    every: int = 0  # steps between quality evaluations during training; 0: never
    early: int = 3  # also score at every/2, every/4, ... (this many halvings) before the first of those steps
    n: int = 2000  # generated (and real) samples per evaluation
    inception: str = ""  # the FID Inception weights file (pt_inception-2015-12-05-6726825d.pth): fid/kid/precision/recall


@dataclass
class HealthConfig:
    """Training-health detectors (core/health). Defaults measured on the presets (docs/quality.md, Health)."""

    enabled: bool = True
    window: int = 500  # steps a loss-based failure must last before it is called one
    overpower_inside: float = 0.02  # d_overpowers: at most this share of real and of fake inside their margins
    overpower_d_loss: float = 0.05  # ... with D's loss at most this
    diverge_ratio: float = 20.0  # diverging: mean |D score| beyond this many times the larger margin (or 1)
    diverge_window: int = 50  # ... over this many steps
    collapse_diversity: float = 0.5  # g_collapse: samples' spread in feature space below this share of the data's
    collapse_classes: float = 0.6  # ... or fewer than this share of the classes (2D: modes) present
    collapse_drop: float = 0.6  # ... and below this share of the best the run reached (not yet learned: no alert)
    cover_after: int = 2000  # not_covering: from this step on, where over the last cover_patience evaluations
    cover_share: float = 0.75  # ... a median under this share of the classes (2D: modes) appear
    cover_patience: int = 3  # ... and no more than over the cover_patience evaluations before them
    stall_window: int = 2000  # stalled: steps over which nothing moves
    stall_loss_change: float = 0.01  # ... loss means move less than this between the window's halves
    stall_sample_change: float = 0.002  # ... and the fixed-z samples less than this (mean abs, data range 1)
    stall_weight_change: float = 0.001  # ... and G's weights less than this share of their size: a converged G
    # still moves its weights (the samples stay because its moves balance), a stuck one does not
    memorise_every: int = 200  # d_memorises: D is probed on trained, held-out (data.holdout) and fake images every
    memorise_gap: float = 0.5  # ... this many steps; an alert when held-out reals score this far from the trained
    # towards the fakes ((D_train - D_held) / (D_train - D_fake), averaged over the last memorise_probes probes)
    memorise_probes: int = 5
    auto_rewind: int = 0  # rewind to the last checkpoint before an alert automatically, at most this often
    apply_suggestion: bool = False  # with auto_rewind: also apply the alert's suggested change


@dataclass
class LogConfig:
    """Trackers the run is streamed to as it trains (core/trackers), each an optional extra; off by default."""

    tensorboard: bool = False  # TensorBoard event files in RUN/tensorboard, or in tensorboard_dir
    tensorboard_dir: str = ""
    mlflow: str = ""  # an MLflow tracking URI: sqlite:///mlflow.db, a folder (./mlruns), http://host:5000; "": off
    mlflow_experiment: str = "hinge-gan"
    wandb: str = ""  # a Weights & Biases project; "": off
    wandb_mode: str = "online"  # online, or offline (a folder under RUN/wandb that `wandb sync` uploads later)
    every_s: float = 5.0  # what came since is sent together this often, from a thread of its own


@dataclass
class Config:
    preset: str = "digits"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    log: LogConfig = field(default_factory=LogConfig)

    @property
    def is_2d(self) -> bool:
        return self.data.source in POINT_SOURCES

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


RECORD_ONLY = ("parent",)  # what config.json records about a run beside its settings (a fork's origin)
SECTIONS = {f.name: f for f in dataclasses.fields(Config) if f.name != "preset"}

