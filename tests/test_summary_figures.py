"""The summary's figures: at the declared batch everywhere, and marked partial when layers are missing.

Expectations are hand arithmetic written out here.
"""

from __future__ import annotations

import json

from convdsl import cli, loads
from convdsl.summary import table, to_json

BATCHED = "input x: 3 x 8 x 8, batch=4\ny = x -> conv(16, 3, p=1)\n"


def test_a_declared_batch_holds_for_every_figure():
    # conv 3 -> 16, 3x3, padding 1, on 8 x 8: weight 16 * 3 * 3 * 3 = 432 values, each used at 8 * 8 = 64
    # positions: 27,648 MACs per sample, 110,592 at batch 4. Output 4 x 16 x 8 x 8 = 4,096 values = 16,384 bytes.
    analysis = loads(BATCHED).analyze()
    data = to_json(analysis)
    assert data["batch"] == 4
    assert data["macs"] == 110_592 and data["flops"] == 221_184
    (layer,) = data["layers"]
    assert layer["macs"] == 110_592 and layer["output_shape"] == [4, 16, 8, 8]
    assert data["params"] == 448  # 432 + 16 biases: the model's, whatever the batch
    text = table(analysis)
    row = next(line for line in text.splitlines() if line.startswith("conv1"))
    assert "4 x 16 x 8 x 8" in row and "110,592" in row
    assert "MACs:        110,592" in text and "at batch 4" in text
    assert "inputs: x: 4 x 3 x 8 x 8" in text
    assert "Activations: 0.02 MB" in text  # 16,384 bytes


def test_without_a_batch_figures_are_per_sample():
    analysis = loads(BATCHED.replace(", batch=4", "")).analyze()
    data = to_json(analysis)
    assert data["batch"] == 1 and data["macs"] == 27_648
    assert data["layers"][0]["output_shape"] == [16, 8, 8]


BROKEN = """input x: 3 x 8 x 8
a = x -> conv(16, 3, p=1)
b = a -> conv(8, 3, p=1, groups=3) -> conv(4, 1)
"""


def test_totals_of_a_broken_network_are_marked_partial(tmp_path, capsys):
    # groups=3 does not divide 16 channels: the second and third convolutions have no shape, and the
    # totals count only the first (448 parameters of 448 + 8 * 16/3 ... which cannot be built).
    analysis = loads(BROKEN).analyze()
    assert analysis.partial and analysis.params == 448
    assert to_json(analysis)["partial"] is True
    assert "partial: layers after an error are not counted" in table(analysis)
    from convdsl.render import to_dot

    assert "partial" in to_dot(analysis)


def test_a_rounding_lint_alone_leaves_the_totals_complete():
    # maxpool(2) on 9 rows drops one (E101), but every shape is known: 8 x 4 x 4
    analysis = loads("input x: 8 x 9 x 9\ny = x -> maxpool(2)\n").analyze()
    assert analysis.has_errors and not analysis.partial
    assert to_json(analysis)["partial"] is False


def test_summary_cli_json_has_the_batch(tmp_path, capsys):
    path = tmp_path / "b.cdsl"
    path.write_text(BATCHED)
    cli.main(["summary", str(path), "--format", "json"])
    assert json.loads(capsys.readouterr().out)["macs"] == 110_592
