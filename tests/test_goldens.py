"""The golden-file mechanism (conftest.check_golden) and the `summary` table's golden, whose every
number is also taken from PyTorch and from hand arithmetic here."""

from __future__ import annotations

import subprocess
import sys

import pytest

import conftest
from conftest import ROOT, check_golden, require

# -- the mechanism -------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A stand-in for the repository, so that these tests write nothing into the real one."""
    monkeypatch.setattr(conftest, "ROOT", tmp_path)
    monkeypatch.delenv(conftest.UPDATE, raising=False)
    (tmp_path / "golden").mkdir()
    return tmp_path


def test_a_matching_golden_passes(tree):
    (tree / "golden" / "a.txt").write_text("same\n")
    check_golden(tree / "golden" / "a.txt", "same\n")


def test_a_missing_golden_fails_and_is_not_written(tree):
    with pytest.raises(pytest.fail.Exception, match=r"no golden golden/a.txt.*CONVDSL_UPDATE_GOLDEN=golden/a.txt"):
        check_golden(tree / "golden" / "a.txt", "new\n")
    assert not (tree / "golden" / "a.txt").exists()


def test_a_changed_output_fails_with_its_diff(tree):
    (tree / "golden" / "a.txt").write_text("params 156\nmacs 117,600\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        check_golden(tree / "golden" / "a.txt", "params 157\nmacs 117,600\n")
    text = str(failed.value)
    assert "-params 156" in text and "+params 157" in text and " macs 117,600" in text
    assert (tree / "golden" / "a.txt").read_text() == "params 156\nmacs 117,600\n"


def test_an_update_names_one_file_and_still_fails_once_showing_the_change(tree, monkeypatch):
    (tree / "golden" / "a.txt").write_text("old\n")
    (tree / "golden" / "b.txt").write_text("old\n")
    monkeypatch.setenv(conftest.UPDATE, "golden/a.txt")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)golden/a.txt rewritten.*-old.*\+new"):
        check_golden(tree / "golden" / "a.txt", "new\n")
    assert (tree / "golden" / "a.txt").read_text() == "new\n"
    check_golden(tree / "golden" / "a.txt", "new\n")  # now it matches: passes even with the variable set
    with pytest.raises(pytest.fail.Exception, match="differs"):  # another file is not updated
        check_golden(tree / "golden" / "b.txt", "new\n")
    assert (tree / "golden" / "b.txt").read_text() == "old\n"


@pytest.mark.parametrize("value", ["1", "true", "golden"])
def test_an_update_of_everything_is_refused(tree, monkeypatch, value):
    (tree / "golden" / "a.txt").write_text("old\n")
    monkeypatch.setenv(conftest.UPDATE, value)
    with pytest.raises(pytest.fail.Exception, match="one golden file"):
        check_golden(tree / "golden" / "a.txt", "new\n")
    assert (tree / "golden" / "a.txt").read_text() == "old\n"


def test_ci_refuses_to_run_with_an_update_variable_set():
    script = (ROOT / ".ci" / "run").read_text()
    guard = script.index("CONVDSL_UPDATE_GOLDEN")
    assert guard < script.index("pytest") and "exit 1" in script[guard : guard + 400]


# -- the summary table ---------------------------------------------------------------------------------


def _summary(path: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "convdsl", "summary", path], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_summary_golden():
    check_golden(ROOT / "tests" / "golden" / "lenet.summary.txt", _summary("examples/lenet.cdsl"))


def _rows(text: str) -> dict[str, list[str]]:
    """Layer -> its columns, from the table between the two rules."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("-----")]
    rows = {}
    for line in lines[rules[0] + 1 : rules[1]]:
        name, kind, rest = line.split(None, 2)
        shape, tail = rest.split("  ", 1)
        params, macs, rf = tail.split()
        rows[name] = [kind, shape.strip(), params, macs, rf]
    return rows


def test_summary_numbers_are_torchs_and_the_hand_arithmetics():
    """The golden's numbers from elsewhere: output shapes and parameters from PyTorch's LeNet built by
    hand; MACs by hand (a convolution: C_out x H x W x C_in x k x k; a linear layer: in x out);
    receptive fields by hand (5; pool 2/2: 5 + 1 = 6, jump 2; conv 5: 6 + 4*2 = 14; pool: 14 + 1*2 = 16,
    jump 4; flatten: the whole 32); totals 61,706 parameters and 416,520 MACs."""
    torch = require("torch")
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip
    names = [
        "conv1",
        "relu1",
        "maxpool1",
        "conv2",
        "relu2",
        "maxpool2",
        "flatten1",
        "fc1",
        "relu3",
        "fc2",
        "relu4",
        "fc3",
    ]
    shapes, x = [], torch.zeros(1, 1, 32, 32)
    for layer in model:
        x = layer(x)
        shapes.append(" x ".join(map(str, x.shape[1:])))
    params = [sum(p.numel() for p in layer.parameters()) for layer in model]
    macs = {
        "conv1": 6 * 28 * 28 * 1 * 25,
        "conv2": 16 * 10 * 10 * 6 * 25,
        "fc1": 400 * 120,
        "fc2": 120 * 84,
        "fc3": 84 * 10,
    }
    fields = [5, 5, 6, 14, 14, 16, 32, 32, 32, 32, 32, 32]
    text = (ROOT / "tests" / "golden" / "lenet.summary.txt").read_text()
    rows = _rows(text)
    assert list(rows) == names
    for name, shape, count, field in zip(names, shapes, params, fields):
        _, got_shape, got_params, got_macs, got_rf = rows[name]
        assert got_shape == shape, name
        assert got_params == (f"{count:,}" if count else "-"), name
        assert got_macs == (f"{macs[name]:,}" if name in macs else "-"), name
        assert got_rf == f"{field}x{field}", name
    assert f"Params:      {sum(params):,} " in text and sum(params) == 61_706
    assert f"MACs:        {sum(macs.values()):,} " in text and sum(macs.values()) == 416_520
