"""The PyTorch export and the harness that holds it against convdsl's own inference.

Every example, every feature fixture and every case of the catalogue test is
exported, imported, built, run and compared layer by layer (shapes, parameters,
buffers, state_dict keys). Names from a file must never become code, and torch
stays optional: only `verify` imports it.

A changed golden export is accepted one at a time: CONVDSL_UPDATE_GOLDEN=tests/golden/export/NAME.py.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import convdsl
from conftest import EXAMPLES, ROOT, check_golden, required
from convdsl.export import export_pytorch

HAS_TORCH = importlib.util.find_spec("torch") is not None
# where CI promised torch (CONVDSL_REQUIRE_TORCH=1) the tests run, and fail without it
needs_torch = pytest.mark.skipif(not HAS_TORCH and not required("torch"), reason="torch is not installed")
# torch's own notes, not findings: 'same' padding with an even kernel is slower
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")

GOLDEN = Path(__file__).parent / "golden" / "export"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.cdsl"))
FEATURES = sorted((ROOT / "tests" / "fixtures" / "features").glob("*.cdsl"))
UNSUPPORTED = ROOT / "tests" / "fixtures" / "diagnostics" / "export_unsupported.cdsl"


def _verify(analysis, **options):
    from convdsl.export.verify import verify

    result = verify(analysis, **options)
    assert result.export.source is not None, [d.message for d in result.export.diagnostics]
    assert result.ok, result.report()
    return result


def _export(text: str, path: str = "net.cdsl"):
    analysis = convdsl.loads(text, path).analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return analysis, export_pytorch(analysis)


# every network, run --------------------------------------------------------------------------

# Billions of MACs on a CPU: the harness builds these on torch's meta device, which checks every shape and
# count without computing (resnet50 also runs for real in the test after this one).
HEAVY = {"unet", "vgg16", "vgg16_bn", "googlenet", "resnet50", "gpt2_small"}


@needs_torch
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_agrees_with_convdsl(path):
    result = _verify(convdsl.load(path).analyze(), device="meta" if path.stem in HEAVY else "cpu")
    assert "agrees with convdsl" in result.report()


@needs_torch
@pytest.mark.parametrize("path", FEATURES, ids=[p.stem for p in FEATURES])
def test_feature_fixture_agrees_with_convdsl(path):
    _verify(convdsl.load(path).analyze())


def _catalogue_cases():
    try:  # tests/ as a package or as a rootdir on sys.path, as test_catalogue_vs_torch itself does
        from tests import test_catalogue_vs_torch as catalogue
    except ImportError:  # pragma: no cover
        import test_catalogue_vs_torch as catalogue
    return catalogue.CASES


@needs_torch
@pytest.mark.parametrize("case", _catalogue_cases() if HAS_TORCH or required("torch") else [], ids=lambda c: c.id)
def test_catalogue_case_agrees_with_convdsl(case):
    """Each kind's to_torch, against convdsl's inference, in every configuration the catalogue test has."""
    analysis = convdsl.loads(case.source()).analyze()
    if analysis.has_errors:  # the rounding lint (E101): an opinion, and export refuses files with errors
        assert {d.code.code for d in analysis.diagnostics if d.is_error} <= {"E101", "E102"}
        from convdsl.export.model import export

        refused = export(analysis)
        assert refused.source is None and refused.diagnostics
        assert {d.code.code for d in refused.diagnostics} <= {"E101", "E102"}
        return
    if case.id.startswith("opaque"):
        # an opaque layer stands for a module convdsl has no kind for: export refuses it, by design,
        # naming the module (its shape and counts are checked against torch in test_catalogue_vs_torch)
        exported = export_pytorch(analysis)
        assert exported.source is None
        assert [d.code.code for d in exported.diagnostics] == ["E301"]
        assert "opaque" in exported.diagnostics[0].message
        return
    _verify(analysis, batch=2)


@needs_torch
def test_resnet50_has_torchvision_counts_names_and_logits():
    import torch

    analysis = convdsl.load(EXAMPLES / "resnet50.cdsl").analyze()
    exported = export_pytorch(analysis)
    namespace: dict = {}
    exec(compile(exported.source, "resnet50_export.py", "exec"), namespace)
    model = namespace[exported.class_name]().eval()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224))
    assert tuple(logits.shape) == (1, 1000)
    suffixes = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    keys = set(model.state_dict())
    owners = {key.rsplit(".", 1)[0] for key in keys}
    weighted = {name for name, info in analysis.layers.items() if info.params or info.buffers}
    assert owners == weighted  # every key is a convdsl layer name plus a suffix
    assert all(key.rsplit(".", 1)[1] in suffixes for key in keys)
    assert {
        "conv1.weight",
        "layer1.0.conv1.weight",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.running_mean",
        "layer4.2.bn3.bias",
        "fc.weight",
        "fc.bias",
    } <= keys


# the text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet50", "unet", "mobilenet_v2", "googlenet"])
def test_export_golden(name):
    analysis = convdsl.load(EXAMPLES / f"{name}.cdsl").analyze()
    source = export_pytorch(analysis, source_label=f"examples/{name}.cdsl").source
    check_golden(GOLDEN / f"{name}.py", source)


@pytest.mark.parametrize("path", EXAMPLE_FILES + FEATURES, ids=lambda p: p.stem)
def test_exported_file_reads_like_hand_written_code(path):
    analysis = convdsl.load(path).analyze()
    exported = export_pytorch(analysis, source_label=str(path.relative_to(ROOT)))
    source = exported.source
    lines = source.splitlines()
    # two fixed lines (the encoding, then the version: no name or path there), then the network and its source
    assert lines[0] == "# -*- coding: utf-8 -*-"
    assert lines[1] == f"# PyTorch model exported by convdsl {convdsl.__version__}."
    header = " ".join(line[2:] for line in lines[2:4])
    assert lines[2].startswith("# Network `") and str(path.relative_to(ROOT)) in header
    tree = ast.parse(source)
    assert _imports(tree) <= {"torch", "torch.nn", "torch.nn.functional"}
    assert max(len(line) for line in lines if not line.startswith("#")) <= 100  # comments are the file's own
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    network = classes[-1]  # the network's class comes last, and takes no arguments
    assert network.name == exported.class_name
    init = (
        next(n for n in network.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        if any(isinstance(n, ast.FunctionDef) and n.name == "__init__" for n in network.body)
        else None
    )
    assert init is None or [a.arg for a in init.args.args] == ["self"]


def test_block_classes_take_their_arguments():
    """One class per block definition, constructed with the block's arguments and its input's channels."""
    source = export_pytorch(convdsl.load(EXAMPLES / "resnet50.cdsl").analyze()).source
    assert source.count("class Bottleneck(nn.Module):") == 1
    assert "def __init__(self, in_channels, c, stride=1, down=False):" in source
    assert "Bottleneck(256, 128, stride=2, down=True)," in source
    assert "nn.Conv2d(c, c, 3, stride=stride, padding=1, bias=False)" in source
    assert "if down:" in source and "if self.downsample is not None:" in source


def test_nhwc_layout_is_documented_on_the_class():
    _, exported = _export("set layout = NHWC\ninput x: 3 x 8 x 8\noutput y = x -> conv(4, 3, p=1)\n")
    assert "x.permute(0, 3, 1, 2)" in exported.source
    assert "nn.Conv2d(3, 4, 3, padding=1)" in exported.source


SPECIAL = """\
network special
block stage(c, n) = (conv(c, 3, p=1) -> relu) * n
block head(c) = flatten -> fc(c)
input x: 3 x 16 x 16
a = x -> s1: stage(8, 2) -> s2: stage(8, 3)
b = a -> maxpool(2) -> head(10)
c = a -> head(10)
output y = add(b, c)
"""


def test_a_block_no_class_can_serve_is_written_per_use():
    analysis, exported = _export(SPECIAL)
    source = exported.source
    assert "class Stage(nn.Sequential):" in source and "class Stage2(nn.Sequential):" in source
    assert "# `stage` is written out for each way it is used: a repeat count depends on `n`" in source
    assert "class Head(nn.Sequential):" in source and "class Head2(nn.Sequential):" in source
    if HAS_TORCH:
        _verify(analysis)


def test_reshape_with_a_wildcard_after_a_vector():
    analysis, exported = _export("input x: 16\noutput y = x -> reshape((-1, 2, 2)) -> conv(4, 1)\n")
    assert "nn.Unflatten(1, (-1, 2, 2))" in exported.source
    if HAS_TORCH:
        _verify(analysis)


def test_unsupported_layer_is_a_diagnostic_not_code():
    analysis = convdsl.load(UNSUPPORTED).analyze()
    assert not analysis.has_errors
    exported = export_pytorch(analysis)
    assert exported.source is None
    (diag,) = exported.diagnostics
    assert diag.code.code == "E301" and diag.span.line == 6
    assert "`maxpool` cannot be exported to PyTorch" in diag.message and diag.help


def test_a_file_with_errors_is_not_exported():
    analysis = convdsl.loads("input x: 3 x 8 x 8\ny = x -> conv(4, 3) -> linear(10, in_features=7)\n").analyze()
    exported = export_pytorch(analysis)
    assert exported.source is None and any(d.is_error for d in exported.diagnostics)


# names that must not become code -----------------------------------------------------------

HOSTILE = r"""# hostile: keywords, nn.Module attributes, dunders, the names the export itself uses
network __import__
const nn = 2
block lambda(self, torch=1, super="x\"\"\"y'z\\w\n)", in_channels=3) {
    F = in -> class: conv(in_channels * nn, 3, p=1, bias=false) -> forward: bn -> training: relu
    center_crop = F -> None: conv(self, 1) -> __init__: relu
    out = add(center_crop, center_crop) -> to: identity
}
block none(x: tensor) = conv(8, 1) -> add(x) -> _modules: relu
input self: 3 x 16 x 16
input torch: 8 x 16 x 16
getattr = self -> eval: lambda(8) -> forward_: relu
output float = getattr -> def: none(torch) -> append: (relu -> relu) -> center_crop(torch)
"""

ALLOWED_FREE = {"super", "getattr", "setattr", "float", "int", "round", "slice", "tuple", "zip", "len"}


def _imports(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _free_names(tree) -> set[str]:
    """Names the module reads that nothing in it binds: builtins, or something that got in from the input."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - bound


def test_hostile_names_and_strings_stay_inert():
    analysis = convdsl.loads(HOSTILE, "evil.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    exported = export_pytorch(analysis, source_label='evil\nimport os\n"""\\.cdsl')
    source = exported.source
    tree = ast.parse(source)
    compile(source, "evil_export.py", "exec")
    assert _imports(tree) <= {"torch", "torch.nn", "torch.nn.functional"}
    assert _free_names(tree) <= ALLOWED_FREE
    assert "import os" not in [line.strip() for line in source.splitlines()]
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert 'x"""y\'z\\w\n)' in strings  # the block's string default: one literal, as written
    assert 'self.add_module("class", ' in source  # a keyword keeps its exact name, so its state_dict key
    assert "self.forward_ = nn.BatchNorm2d" in source  # nn.Module's own attribute: renamed, and said so
    assert "# `forward` in the .cdsl file: nn.Module reserves that name" in source
    if HAS_TORCH:
        result = _verify(analysis)
        assert result.export.module_path("eval.forward") == "eval_.forward_"


@needs_torch
def test_reserved_names_cover_this_torch():
    from torch import nn

    from convdsl.export.names import MODULE_ATTRIBUTES, is_dunder

    names = set()
    for cls in (nn.Module, nn.Sequential, nn.ModuleDict):
        names |= set(dir(cls)) | set(vars(cls()))
    assert {n for n in names if not is_dunder(n)} <= MODULE_ATTRIBUTES


# the command line, and torch staying optional ----------------------------------------------

BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this test")
sys.meta_path.insert(0, _NoTorch())
"""


def _python(code: str, *args, cwd=ROOT):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_check_summary_and_export_never_import_torch(tmp_path):
    code = (
        BLOCK_TORCH
        + """
from convdsl.cli import main
out = sys.argv[1]
codes = [main(["check", "examples/resnet50.cdsl"]), main(["summary", "examples/unet.cdsl"]),
         main(["export", "examples/resnet50.cdsl", "-o", out])]
print("torch" in sys.modules, codes, file=sys.stderr)
"""
    )
    result = _python(code, tmp_path / "resnet50.py")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("False [0, 0, 0]"), result.stderr
    ast.parse((tmp_path / "resnet50.py").read_text())


def test_verify_without_torch_says_how_to_install():
    result = _python(BLOCK_TORCH + "from convdsl.cli import main\nsys.exit(main(['verify', 'examples/lenet.cdsl']))")
    assert result.returncode == 2
    assert "pip install 'convdsl[torch]'" in result.stderr


def _cli(*args, cwd=ROOT):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_export_to_a_file_and_to_stdout(tmp_path):
    out = tmp_path / "model.py"
    result = _cli("export", "examples/lenet.cdsl", "--to", "pytorch", "-o", out)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (class Lenet)" in result.stderr
    written = out.read_text()
    result = _cli("export", "examples/lenet.cdsl", "-o", "-")
    assert result.returncode == 0 and result.stdout == written


def test_cli_export_refuses_to_overwrite_its_input(tmp_path):
    source = tmp_path / "net.cdsl"
    source.write_text("input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, p=1)\n")
    result = _cli("export", source, "-o", source)
    assert result.returncode == 2 and "refusing to overwrite the input file" in result.stderr
    assert source.read_text().startswith("input x")


def test_cli_export_of_a_file_with_errors_writes_nothing(tmp_path):
    source = tmp_path / "bad.cdsl"
    source.write_text("input x: 3 x 8 x 8\noutput y = x -> conv(4, 3) -> linear(10, in_features=7)\n")
    out = tmp_path / "bad.py"
    result = _cli("export", source, "-o", out)
    assert result.returncode == 1 and "error[E108]" in result.stderr and not out.exists()


def test_cli_export_of_an_unsupported_layer_names_it(tmp_path):
    out = tmp_path / "model.py"
    result = _cli("export", UNSUPPORTED, "-o", out)
    assert result.returncode == 1 and not out.exists()
    assert "error[E301]: `maxpool` cannot be exported to PyTorch" in result.stderr
    assert "export_unsupported.cdsl:6:" in result.stderr


@needs_torch
def test_cli_verify_reports_agreement():
    result = _cli("verify", "examples/lenet.cdsl", "--batch", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("lenet: the PyTorch export agrees with convdsl")
    assert "parameters 61,706" in result.stdout and "logits 2 x 10" in result.stdout


@needs_torch
def test_verify_lists_disagreements(monkeypatch):
    """A wrong export shows up as a named disagreement (the harness is not a rubber stamp)."""
    from convdsl.export import model, verify

    analysis = convdsl.load(EXAMPLES / "lenet.cdsl").analyze()
    real = model.export

    def wrong(analysis, **options):
        exported = real(analysis, **options)
        object.__setattr__(
            exported,
            "source",
            exported.source.replace("nn.Linear(120, 84)", "nn.Linear(120, 85)").replace(
                "nn.Linear(84, 10)", "nn.Linear(85, 10)"
            ),
        )
        return exported

    monkeypatch.setattr(verify, "export", wrong)
    result = verify.verify(analysis)
    assert not result.ok
    text = result.report()
    assert "fc2: output shape: torch 85, convdsl 84" in text
    assert "fc2: parameters: torch 10,285, convdsl 10,164" in text


@needs_torch
@pytest.mark.parametrize(
    "text",
    [
        "block double(c){out=in\n}\nblock stage(c)=double(c)->maxpool(2)\ninput x:3x32\ny=x->stage(16)->stage(32)\n",
        "block double(c){out=in\n}\ninput x:3x32\ny=x->double(3)->maxpool(2)->g: (double(2) -> relu)\n",
    ],
    ids=["in a sequential block", "at the top and in a group"],
)
def test_a_block_that_makes_no_layer_passes_its_input_on(text):
    """Found by the fuzzer: a block whose body is `out = in` left no instance on record, and export crashed."""
    result = _verify(convdsl.loads(text, "net.cdsl").analyze(), batch=2)
    assert "agrees with convdsl" in result.report()


def test_a_block_that_makes_no_layer_and_gives_another_tensor_is_refused_cleanly():
    text = "block double(s: tensor){out=s\n}\nblock stage(c)=maxpool(2)\ninput x:3x32\ninput z:3x32\ny=x->double(z)->stage(3)\n"
    analysis, exported = _export(text)
    assert exported.source is None
    assert [d.code.code for d in exported.diagnostics] == ["E301"]
