"""`convdsl sizes` and the size hints for networks whose blocks read a swept size (`in.shape[2]`).

Lowering reads `in.shape[d]` once, at the declared input size; a layer made from it (a global pool written
by its kernel size) is different at another size. The sweep must answer for the network as it is at each
size tried. References: the valid sizes worked out by hand (the arithmetic is in each test), and the same
networks written in plain PyTorch at each size.
"""

from __future__ import annotations


from conftest import require

import convdsl
from convdsl.sizes import analyze_sizes

POOL_ALL = """block pool_all { out = in -> avgpool(in.shape[2]) }
input x: 3 x 32 x 32
y = x -> conv(8, 3, p=1) -> pool_all -> flatten -> linear(10)
"""

HALF_ROWS = """block half { out = in -> avgpool(kernel=(in.shape[2] // 2, 1)) }
input x: 3 x 32 x 32
y = x -> half -> flatten -> linear(10)
"""


def _axes(text: str, limit: int, **kwargs):
    report = analyze_sizes(convdsl.loads(text), limit=limit, **kwargs)
    assert report.problem is None, report.problem
    return {axis.variable.name: axis for axis in report.axes}, report


def test_a_global_pool_written_by_its_kernel_size_follows_the_height():
    # By hand: at height H the block is avgpool(H) (stride H): 1 row out of H, none lost. On the width (32)
    # the same pool loses no column only if H <= 32 and H divides 32. conv 3 pad 1 keeps every size. So
    # H in {1, 2, 4, 8, 16, 32}. With H = 32 the width must be a multiple of 32.
    axes, _ = _axes(POOL_ALL, 128)
    assert axes["H"].valid == [1, 2, 4, 8, 16, 32]
    assert axes["W"].valid == [32, 64, 96, 128]
    assert "W" in axes["H"].coupled_with


def test_a_kernel_of_half_the_height_divides_only_even_heights_and_three():
    # By hand: k = H // 2 rows, stride k. H = 1 gives k = 0 (no pool). Even H = 2k: two windows, no row lost.
    # Odd H = 2k + 1: one row lost unless k = 1 (H = 3: three windows of one row). The width's kernel is 1.
    axes, _ = _axes(HALF_ROWS, 40)
    assert axes["H"].valid == [2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40]
    assert [n for n in range(1, 41) if axes["H"].rule.contains(n)] == axes["H"].valid
    assert axes["W"].valid == list(range(1, 41))


def test_the_declared_size_failing_is_judged_at_its_own_layers():
    # Declared 33: k = 16, one row lost. Nearest that work, by hand: below, 32 (k = 16 divides 32); above,
    # 34..63 have odd H (a row lost) or k = 17..31, which are not 1: the next even is 34 (k = 17, 34 = 2 * 17).
    axes, _ = _axes(HALF_ROWS.replace("32 x 32", "33 x 32"), 64)
    h = axes["H"]
    assert h.declared_failure is not None and h.declared_failure.code == "E101"
    assert (h.below, h.above) == (32, 34)


def _torch_pool_all_runs(h: int, w: int) -> bool:
    """The POOL_ALL network in plain PyTorch at 3 x h x w: it runs and no pooling drops a row or column."""
    torch = require("torch")
    nn = torch.nn
    conv = nn.Conv2d(3, 8, 3, padding=1)
    pool = nn.AvgPool2d(h)  # what the block computes at this size: in.shape[2] is the conv's output height, h
    try:
        with torch.no_grad():
            mid = conv(torch.zeros(1, 3, h, w))
            out = pool(mid)
            nn.Linear(out.flatten(1).shape[1], 10)(out.flatten(1))
    except RuntimeError:
        return False
    # no row lost: the windows (stride = kernel = h) cover the input exactly
    return all((o - 1) * h + h == i for o, i in zip(out.shape[2:], mid.shape[2:]))


def test_pool_all_against_pytorch():
    axes, _ = _axes(POOL_ALL, 70)
    assert axes["H"].valid == [h for h in range(1, 71) if _torch_pool_all_runs(h, 32)]
    assert axes["W"].valid == [w for w in range(1, 71) if _torch_pool_all_runs(32, w)]


def _torch_half_rows_runs(h: int, w: int) -> bool:
    torch = require("torch")
    nn = torch.nn
    k = h // 2
    try:
        pool = nn.AvgPool2d((k, 1))
        with torch.no_grad():
            out = pool(torch.zeros(1, 3, h, w))
            nn.Linear(out.flatten(1).shape[1], 10)(out.flatten(1))
    except (RuntimeError, ValueError):
        return False
    return (out.shape[2] - 1) * k + k == h


def test_half_rows_against_pytorch():
    axes, _ = _axes(HALF_ROWS, 60)
    assert axes["H"].valid == [h for h in range(1, 61) if _torch_half_rows_runs(h, 32)]


def test_a_block_reading_only_the_channels_keeps_the_fast_sweep():
    # the channels do not change with H or W: the answer is the one of the same network with the sizes
    # written out, and no size needs the network built again
    reading = """block se { out = in -> adaptive_avgpool(1) -> conv(in.shape[1] // 4, 1) -> relu -> conv(in.shape[1], 1) -> sigmoid -> mul(in) }
input x: 3 x 64 x 64
y = x -> conv(16, 3, p=1) -> maxpool(2) -> se -> conv(32, 3, p=1) -> maxpool(2) -> se -> flatten -> linear(10)
"""
    written = reading.replace("in.shape[1] // 4", "4").replace("conv(in.shape[1], 1)", "conv(16, 1)", 1)
    written = written.replace("-> se -> conv(32", "-> se16 -> conv(32").replace(
        "-> se -> flatten", "-> se32 -> flatten"
    )
    written = written.replace(
        "block se {",
        "block se16 { out = in -> adaptive_avgpool(1) -> conv(4, 1) -> relu -> conv(16, 1) -> sigmoid -> mul(in) }\n"
        "block se32 { out = in -> adaptive_avgpool(1) -> conv(8, 1) -> relu -> conv(32, 1) -> sigmoid -> mul(in) }\n"
        "block se {",
    )
    axes, report = _axes(reading, 128)
    plain, _ = _axes(written, 128)
    assert axes["H"].valid == plain["H"].valid == list(range(4, 129, 4))
    assert not report.sweeper._rebuilt


def test_check_offers_the_sizes_of_the_network_as_it_is_at_each_size():
    # declared 33 with avgpool(H // 2) on both axes: k = 16 loses a row. By hand (W = 32): k must divide
    # 32 and H; H = 32 (k = 16) below; above, H = 34..63 have k = 17..31, none divides 32; H = 64 (k = 32).
    text = """block half { out = in -> avgpool(in.shape[2] // 2) }
input x: 3 x 33 x 32
y = x -> half -> flatten -> linear(10)
"""
    analysis = convdsl.loads(text).analyze()
    (diag,) = [d for d in analysis.diagnostics if d.code.code == "E101"]
    words = [fix.description for fix in diag.fixes]
    assert "give `x` a height of 32" in words and "give `x` a height of 64" in words


def _hostile(count: int) -> str:
    lines = ["block g { out = in -> conv(4, 3, p=1) -> avgpool(in.shape[2] // 2) }"]
    lines += [f"input x{i}: 3 x 32 x 32" for i in range(count)]
    lines += [f"f{i} = x{i} -> g -> g -> flatten" for i in range(count)]
    lines.append("output y = concat(" + ", ".join(f"f{i}" for i in range(count)) + ") -> linear(10)")
    return "\n".join(lines) + "\n"


def test_many_inputs_that_read_their_sizes_are_refused_at_once():
    network = convdsl.loads(_hostile(60))
    rebuilt = []
    rebuild = network.rebuild
    network.rebuild = lambda *args, **kwargs: rebuilt.append(1) or rebuild(*args, **kwargs)
    report = analyze_sizes(network)
    assert report.problem and "built again" in report.problem and "limit of 3,000,000" in report.problem
    assert rebuilt == []  # refused from the estimate, before a single rebuild ran


def test_a_sweep_that_outgrows_its_budget_stops_with_the_note():
    report = analyze_sizes(convdsl.loads(_hostile(3)), limit=32, budget=300_000)
    assert report.problem and "ran out of its budget" in report.problem
    assert report.sweeper is None and report.axes == []


def test_the_cli_reports_the_budget_cleanly(tmp_path):
    from convdsl import cli

    path = tmp_path / "many.cdsl"
    path.write_text(_hostile(60))
    code = cli.main(["sizes", str(path)])
    assert code == 1


def test_a_repeat_counted_from_a_swept_size_is_refused_or_stopped_within_the_budget():
    # 50 * H relus per block: 3,202 layers at H = 32, each rebuild larger than the budget allows to repeat
    many = "block deep { out = in -> relu * (in.shape[2] * 50) }\ninput x: 3 x 32 x 32\n"
    many += "y = x -> deep -> deep -> flatten -> linear(10)\n"
    report = analyze_sizes(convdsl.loads(many))
    assert report.problem and "built again" in report.problem and "write the swept size out" in report.problem
    # H**3 relus: 8 at the declared 2, a million at 100; a rebuild may make only what the budget has left
    cubed = "block deep { out = in -> relu * (in.shape[2] * in.shape[2] * in.shape[2]) }\ninput x: 3 x 2 x 2\n"
    cubed += "y = x -> deep -> flatten -> linear(10)\n"
    report = analyze_sizes(convdsl.loads(cubed), limit=16)  # stops by its budget: its time is benchmarks'
    assert report.problem and "ran out of its budget" in report.problem
