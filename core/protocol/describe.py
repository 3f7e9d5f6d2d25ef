"""Events in plain words, for the status bar, tooltips and the terminal."""


def describe_event(event: dict) -> str:
    """A short human sentence for an event, for tooltips and the status bar."""
    kind = event["kind"]
    at = f"step {event['step']}: "
    if kind == "set_margins":
        return at + f"margins set to +{event['margin_real']:g} / -{event['margin_fake']:g}"
    if kind == "set_spectral_norm":
        return at + f"spectral norm {'on' if event['enabled'] else 'off'}"
    if kind == "set_learning_rates":
        return at + f"learning rates G {event['lr_g']:.2g}, D {event['lr_d']:.2g}"
    if kind == "set_loss":
        return at + f"loss switched to {event['loss']}"
    if kind == "set_augment":
        return at + f"augmentation set to {event['policies']}"
    if kind == "set_n_dis":
        return at + f"n_dis set to {event['n_dis']}"
    if kind == "step":
        then = "; paused: it was running (Resume goes on)" if event.get("paused") else ""
        return at + f"stepping {event['n']}{then}"
    if kind == "rejected":
        return at + f"refused {event['command']}: {event['reason']}"
    if kind == "diverged":
        return at + f"diverged (NaN/Inf) at step {event['at_step']}; paused"
    if kind == "evaluate":
        return at + "evaluation started"
    if kind in ("save_checkpoint", "export_samples"):
        return at + f"wrote {event.get('path')}"
    if kind == "error":
        return at + event.get("reason", "error")
    if kind == "tracker_failed":
        return at + f"stopped publishing to {event['tracker']}: {event['reason']}"
    if kind == "alert":
        return at + f"ALERT {event['name']}: {event['message']} Suggested: {event['suggestion']}."
    if kind == "alert_cleared":
        return at + f"alert {event['name']} (raised at step {event['raised_at']}) cleared: {event['why']}"
    if kind == "rewind":
        return at + f"rewound from step {event['from_step']} to {event['checkpoint']}" + (
            f"; the abandoned branch is in {event['abandoned']}" if event.get("abandoned") else "")
    if kind == "ranks_compared":
        agree = "identical weights" if event["identical"] else "DIFFERENT weights (a bug: please report it)"
        return at + f"the {event['world_size']} processes ended with {agree}"
    return at + kind.replace("_", " ")


def describe_score(result: dict) -> str:
    """One evaluation (a quality.jsonl line) in a few words: the numbers a user reads first."""
    at = f"step {result['step']:,}: "
    if "error" in result:
        return at + f"evaluation failed ({result['error']})"
    if "modes_total" in result:
        return at + (f"{result['modes_covered']}/{result['modes_total']} modes, "
                     f"{100 * result['high_quality_rate']:.1f}% high quality")
    parts = []
    if "classes_present" in result:
        parts.append(f"{result['classes_present']}/{result['classes_total']} classes, "
                     f"{100 * result['confident_share']:.0f}% read confidently")
    for key in ("fid", "fid_cnn"):
        if result.get(key) is not None:
            floor = result.get(f"{key}_floor")
            parts.append(f"{key} {result[key]:.2f}" + (f" (floor {floor:.2f})" if floor is not None else ""))
    return at + (", ".join(parts) or "no feature metrics (no labels and no eval.inception)")
