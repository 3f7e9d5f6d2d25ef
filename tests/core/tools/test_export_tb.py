"""hinge-train export-tb: the run directory as TensorBoard event files, read back with TensorBoard's reader."""
import pytest

from core.protocol import commands as C
from tests.core.helpers import metrics_rows, run_session

pytest.importorskip("tensorboard")


def test_a_run_reads_back_from_tensorboards_own_reader(tmp_path, tiny_digits_config):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.tools.export_tb import export_tb

    run = tmp_path / "run"
    run_session(tiny_digits_config(samples_every_s=0.05), run, 40, commands=[C.SetMargins(0.5, 0.5)])
    out, counts = export_tb(run)
    reader = EventAccumulator(str(out), size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0})
    reader.Reload()
    tags = reader.Tags()
    d_loss = reader.Scalars("train/d_loss")
    rows = metrics_rows(run)
    assert [e.step for e in d_loss] == [int(r["step"]) for r in rows]
    assert d_loss[-1].value == pytest.approx(float(rows[-1]["d_loss"]), rel=1e-5)
    assert reader.Scalars("settings/margin_real")[-1].value == 0.5
    assert "D_scores/real" in tags["histograms"] and "D_scores/fake" in tags["histograms"]
    assert sum(h.histogram_value.num for h in reader.Histograms("D_scores/real")) == 8 * 40  # every score once
    assert len(reader.Images("samples")) == counts["images"] > 0
    assert "events/set_margins/text_summary" in tags["tensors"]


def test_export_tb_says_what_is_missing(tmp_path):
    from core.base.errors import UserError
    from core.tools.export_tb import export_tb

    with pytest.raises(UserError, match="not a run directory"):
        export_tb(tmp_path)
