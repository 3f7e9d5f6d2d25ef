"""Commands as events and back, and every event said in plain words."""
import dataclasses

import pytest

from core.protocol import commands as C
from core.protocol.describe import describe_event
from core.protocol.engine import call_entry


# Every command, as the event it becomes, and words its description must hold (its values, not only its kind).
SAID = {
    C.SetMargins(0.5, 2.0): "margins set to +0.5 / -2", C.SetSpectralNorm(False): "spectral norm off",
    C.SetLearningRates(lr_d=1e-3): "learning rates G 0.0002, D 0.001", C.SetNDis(3): "n_dis set to 3",
    C.SetLoss("bce"): "loss switched to bce", C.SetAugment("color,cutout"): "augmentation set to color,cutout",
    C.SetThreads(0): "set threads", C.SetSampleView(True): "sample view",
    C.Pause(): "pause", C.Resume(): "resume", C.Step(7): "stepping 7", C.SaveCheckpoint("x.pt"): "wrote x.pt",
    C.ExportSamples("a.png", n=9): "wrote a.png", C.Evaluate(): "evaluation started",
    C.Rewind(to="last_healthy"): "rewound from step 30 to checkpoints/step-10.pt", C.Stop(): "stop",
}


def test_every_command_kind_is_checked_here():
    assert {type(command) for command in SAID} == set(C.ALL)


@pytest.mark.parametrize("command, words", SAID.items())
def test_a_command_survives_its_event_and_every_event_reads_as_words(command, words):
    event = {"step": 12, "wall_time": 1.0, **C.to_event(command)}
    assert C.from_event(event) == command
    echoes = {"set_learning_rates": {"lr_g": 2e-4}, "rewind": {"from_step": 30, "checkpoint": "checkpoints/step-10.pt",
                                                                 "abandoned": "abandoned/from-step-10"},
              "save_checkpoint": {"path": "x.pt"}, "export_samples": {"path": "a.png"}}
    text = describe_event({**event, **echoes.get(command.kind, {})})
    assert text.startswith("step 12: ") and words in text


@pytest.mark.parametrize("event, words", [
    ({"kind": "rejected", "command": "set_margins", "reason": "margin_real must be finite"}, "refused set_margins"),
    ({"kind": "diverged", "at_step": 5}, "(NaN/Inf) at step 5"),
    ({"kind": "error", "reason": "cannot write metrics.csv"}, "cannot write metrics.csv"),
    ({"kind": "alert", "name": "diverging", "message": "D runs away.", "suggestion": "halve both"}, "ALERT diverging"),
    ({"kind": "alert_cleared", "name": "stalled", "raised_at": 3, "why": "recovered"}, "cleared: recovered"),
    ({"kind": "ranks_compared", "world_size": 2, "identical": False}, "DIFFERENT weights"),
    ({"kind": "resumed"}, "resumed"),
])
def test_what_the_engine_reports_reads_as_a_sentence(event, words):
    assert words in describe_event({"step": 9, **event})


def test_an_unknown_kind_is_no_command():
    with pytest.raises(ValueError, match="unknown command kind"):
        C.from_event({"kind": "rm -rf"})


def test_an_entry_point_named_as_text_is_imported_only_when_called():
    assert call_entry("dataclasses:is_dataclass", C.Pause()) is dataclasses.is_dataclass(C.Pause())
