"""convdsl's performance benchmark (issue 9): one run, one table of targets.

From a fresh clone:

    python3 -m venv .venv && .venv/bin/pip install -q -e '.[bench]' && .venv/bin/python benchmarks/bench.py

What it measures, each in its own child process so one measurement cannot
warm or fill the memory of another:

- stages on synthetic chains of N layers, conv and relu in turn (N = 100,
  1,000, 10,000, 100,000): parse, graph (lowering), inference, summary table,
  DOT (when convdsl.render exists); medians over repeats; peak memory as the
  child's resource.getrusage ru_maxrss (the whole process: interpreter and
  imports included, no tracemalloc slowdown); the scaling exponent fitted by
  least squares of log(total time) on log(N);
- in-process analysis of examples/resnet50.cdsl (parse, graph, inference)
  once the parser is built;
- cold processes, side by side, alternating, in one run: `convdsl check` of
  ResNet-50 (the console script and `python -m convdsl`), the floor
  `python -c "import lark, networkx"`, the PyTorch route (import torch, build
  ResNet-50, print torchinfo.summary) and, when convdsl.render exists, a render
  of ResNet-50 to SVG. Medians, and ratios taken round by round.

Python's bytecode cache is allowed in the child processes (PYTHONDONTWRITEBYTECODE
is removed from their environment, and every command runs once untimed first):
an installed package always has it, and without it the first import of every
module compiles it from source, on every run.

`--quick` is a short run for development (fewer repeats and rounds). Nothing
here is part of the tests; no test asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESNET = ROOT / "examples" / "resnet50.cdsl"
SIZES = (100, 1_000, 10_000, 100_000)
CONV_PARAMS = 8 * 8 * 9 + 8  # conv(8, 3) with bias, on 8 channels

# The PyTorch route: ResNet-50 (torchvision's v1.5 layout) in plain torch, since
# there is no CPU build of torchvision here, summarised by torchinfo.
TORCHINFO_SCRIPT = """
import torch, torchinfo
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, cin, c, stride=1, down=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(cin, c * 4, 1, stride, bias=False),
                                        nn.BatchNorm2d(c * 4)) if down else None

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin, stages = 64, []
        for c, n, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stages.append(nn.Sequential(Bottleneck(cin, c, stride, True), *(Bottleneck(c * 4, c) for _ in range(n - 1))))
            cin = c * 4
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


stats = torchinfo.summary(ResNet50(), (1, 3, 224, 224), verbose=0)
print(stats)
assert stats.total_params == 25_557_032, stats.total_params
"""

RENDER_SCRIPT = """
import sys
import convdsl
from convdsl.render import render
data = render(convdsl.load(sys.argv[1]).analyze(), "svg")
assert data.lstrip().startswith((b"<?xml", b"<svg")), data[:80]
sys.stdout.buffer.write(data)
"""


# -- synthetic networks ------------------------------------------------------


def chain_text(n: int) -> str:
    """A chain of n layers (n even), conv and relu in turn, that keeps its shape: 3x3, padding 1, 8 x 16 x 16."""
    return "".join(
        [
            f"network chain{n}\n",
            "input x: 8 x 16 x 16\n",
            "output y = x\n",
            "    -> conv(8, 3, p=1) -> relu\n" * (n // 2),
        ]
    )


# -- in a child process: stage timings -----------------------------------------


def _render_module():
    try:
        return importlib.import_module("convdsl.render")
    except ImportError:
        return None


def _staged(source, limits):
    """loading._build (network._build before it), one stage at a time: [(stage, seconds)], analysis."""
    try:
        from convdsl import loading as network_module
    except ImportError:  # a baseline from before loading.py
        from convdsl import network as network_module
    from convdsl import summary

    try:
        from convdsl.frontend import parse
    except ImportError:  # a baseline from before frontend.py
        from convdsl.grammar import parse
    from convdsl.infer import analyze

    try:
        from convdsl.walk import gc_paused  # as loading._build runs the parse
    except ImportError:
        try:
            from convdsl.network import gc_paused
        except ImportError:
            from contextlib import nullcontext as gc_paused
    times = []
    t0 = time.perf_counter()
    with gc_paused():
        parsed = parse(source)
    t1 = time.perf_counter()
    assert parsed[0] is not None and not parsed[1], parsed[1]
    times.append(("parse", t1 - t0))
    # network._build as the library runs it, handed the parse just timed (includes are still parsed in it)
    network_module.parse = lambda _source: parsed
    try:
        t2 = time.perf_counter()
        network = network_module._build(source, limits)
        t3 = time.perf_counter()
    finally:
        network_module.parse = parse
    times.append(("graph", t3 - t2))
    analysis = analyze(network)
    t4 = time.perf_counter()
    times.append(("inference", t4 - t3))
    summary.table(analysis)
    t5 = time.perf_counter()
    times.append(("summary", t5 - t4))
    render = _render_module()
    if render is not None and hasattr(render, "to_dot"):
        render.to_dot(analysis)
        times.append(("dot", time.perf_counter() - t5))
    return times, analysis


def _build_parser() -> None:
    try:
        from convdsl.frontend import fast_parser
    except ImportError:  # a baseline from before frontend.py
        from convdsl.grammar import parser

        parser()
        return
    fast_parser()


def child_stages(kind: str, n: int, reps: int) -> dict:
    import resource

    import convdsl

    try:
        from convdsl.loading import read_source
        from convdsl.model import Limits
    except ImportError:  # a baseline from before loading.py and model.py
        from convdsl.lower import Limits
        from convdsl.network import read_source
    from convdsl.source import Source

    _build_parser()  # "once the parser is built"
    imports_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "chain":
        source = Source(f"chain{n}.cdsl", chain_text(n))
    else:
        source = read_source(str(RESNET))
    limits = Limits()
    runs = []
    analysis = None
    for _ in range(reps):
        times, analysis = _staged(source, limits)
        runs.append(dict(times))
        del times
    stages = {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}
    if kind == "chain":
        assert not analysis.has_errors, [d.message for d in analysis.diagnostics][:3]
        assert analysis.params == CONV_PARAMS * (n // 2) and len(analysis.layers) == n, analysis.params
        layers = len(analysis.layers)
    else:
        assert analysis.params == 25_557_032, analysis.params
        layers = len(analysis.layers)
        # the user's view of the same thing: load + analyze, timed as a whole
        for _ in range(5):
            convdsl.load(RESNET).analyze()
        whole = []
        for _ in range(reps):
            t0 = time.perf_counter()
            convdsl.load(RESNET).analyze()
            whole.append(time.perf_counter() - t0)
        stages["load+analyze"] = statistics.median(whole)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "kind": kind,
        "n": n,
        "layers": layers,
        "reps": reps,
        "stages": stages,
        "peak_rss_mib": peak_kib / 1024,
        "rss_after_imports_mib": imports_kib / 1024,
    }


def run_child(args: list[str], timeout: float, pythonpath: str | None = None) -> dict:
    env = _child_env(pythonpath)
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- cold processes ------------------------------------------------------------


def _child_env(pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CONVDSL_DEBUG", None)
    if pythonpath:  # another checkout of convdsl (--baseline) comes before the installed one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


CHECK_FORMS = ("check (console script)", "check (python -m convdsl)")
FLOOR = "floor: import lark, networkx"
TORCHINFO = "torchinfo route"
RENDER = "render svg"


def cold_commands(tmp: Path, baseline: str | None) -> tuple[dict[str, tuple], dict[str, str]]:
    """name -> (argv, environment); and name -> why it is skipped."""
    python = sys.executable
    script = Path(python).parent / "convdsl"
    commands: dict[str, tuple] = {}
    skipped: dict[str, str] = {}
    env = _child_env()
    checks = {}
    if script.exists():
        checks[CHECK_FORMS[0]] = [str(script), "check", str(RESNET)]
    else:
        skipped[CHECK_FORMS[0]] = f"no console script at {script}"
    checks[CHECK_FORMS[1]] = [python, "-m", "convdsl", "check", str(RESNET)]
    for name, argv in checks.items():
        commands[name] = (argv, env)
    if baseline:
        for name, argv in checks.items():
            commands[f"baseline {name}"] = (argv, _child_env(baseline))
    commands[FLOOR] = ([python, "-c", "import lark, networkx"], env)
    missing = [m for m in ("torch", "torchinfo", "numpy") if not _have(m)]
    if missing:
        skipped[TORCHINFO] = (
            f"{', '.join(missing)} not installed: install the bench extra "
            "(pip install -e '.[bench]') to compare with the PyTorch route"
        )
    else:
        path = tmp / "torchinfo_resnet50.py"
        path.write_text(TORCHINFO_SCRIPT)
        commands[TORCHINFO] = ([python, str(path)], env)
    render = _render_module()
    if render is None or not hasattr(render, "render"):
        skipped[RENDER] = "not available: convdsl.render does not exist yet"
    else:
        path = tmp / "render_resnet50.py"
        path.write_text(RENDER_SCRIPT)
        commands[RENDER] = ([python, str(path), str(RESNET)], env)
    return commands, skipped


def _timed(argv: list[str], env: dict, cwd: Path) -> tuple[float, int, float]:
    """Wall seconds, exit code and peak RSS (MiB) of one process.

    os.wait4 blocks until the child ends: subprocess's wait with a timeout polls,
    up to 50 ms apart, which would round every time up to the next poll.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, usage.ru_maxrss / 1024


def run_cold(
    commands: dict[str, tuple], rounds: int, cwd: Path
) -> tuple[dict[str, list[float]], dict[str, float], dict]:
    """Each command once untimed, then `rounds` rounds of all of them. cwd: outside the checkout, so that
    `python -m convdsl` imports the installed convdsl (or --baseline's), not ./convdsl."""
    failed: dict[str, str] = {}
    for name, (argv, env) in list(commands.items()):  # warm-up: bytecode caches, the grammar cache, the page cache
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode not in (0, 1):
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            failed[name] = f"failed (exit {proc.returncode}): {last[0]}"
            del commands[name]
    times: dict[str, list[float]] = {name: [] for name in commands}
    peak: dict[str, float] = {name: 0.0 for name in commands}
    names = list(commands)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # alternate, and rotate who goes first
            elapsed, code, rss = _timed(*commands[name], cwd)
            times[name].append(elapsed)
            peak[name] = max(peak[name], rss)
    return times, peak, failed


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a/b: the two ran side by side in each round."""
    return statistics.median(x / y for x, y in zip(a, b))


# -- fitting and printing --------------------------------------------------------


def fit_exponent(points: list[tuple[int, float]]) -> float:
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.2f} s"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}, {time.strftime('%Y-%m-%d')}"
    )


def print_table(header: tuple, rows: list[tuple], right=frozenset()) -> None:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row):
        return (
            "| "
            + " | ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
            + " |"
        )

    print(line(cells[0]))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|")
    for row in cells[1:]:
        print(line(row))


# -- one side: this checkout, or --baseline ---------------------------------------


def measure_stages(sizes, quick: bool, pythonpath: str | None, title: str) -> dict:
    """Stage timings for every chain size and for ResNet-50, each in its own process."""
    print(f"\n{title}: synthetic chains of N layers (conv and relu in turn), one process per N, medians:")
    side: dict = {"sizes": {}, "points": []}
    rows = []
    for n in sizes:
        reps = max(1, min(7 if quick else 31, (30_000 if quick else 300_000) // (n * 10)))
        data = run_child(["chain", str(n), str(reps)], timeout=3600, pythonpath=pythonpath)
        side["sizes"][n] = data
        if "error" in data:
            rows.append((f"{n:,}", "-", "-", "-", "-", "-", "-", data["error"], "-"))
            continue
        st = data["stages"]
        data["total"] = sum(st.values())
        data["check"] = st["parse"] + st["graph"] + st["inference"]
        side["points"].append((n, data["total"]))
        rows.append(
            (
                f"{n:,}",
                ms(st["parse"]),
                ms(st["graph"]),
                ms(st["inference"]),
                ms(st["summary"]),
                ms(st["dot"]) if "dot" in st else "n/a",
                ms(data["check"]),
                ms(data["total"]),
                f"{data['peak_rss_mib']:,.0f} MiB",
            )
        )
    print_table(
        ("N layers", "parse", "graph", "inference", "summary", "DOT", "check (p+g+i)", "total", "peak RSS"),
        rows,
        right=set(range(9)),
    )
    if not any("dot" in (d.get("stages") or {}) for d in side["sizes"].values()):
        print("DOT: not available (convdsl.render does not exist here)")
    points = side["points"]
    side["exponent"] = fit_exponent(points) if len(points) >= 2 else float("nan")
    side["complete"] = len(points) == len(sizes) >= 2
    per_layer = ", ".join(f"N={n:,}: {t / n * 1e6:.1f} us" for n, t in points)
    checks = [(n, d["check"]) for n, d in side["sizes"].items() if "check" in d]
    check_exponent = fit_exponent(checks) if len(checks) >= 2 else float("nan")
    print(
        f"fitted exponent of total time vs N: {side['exponent']:.3f} (of check alone: {check_exponent:.3f}); "
        f"total per layer: {per_layer}"
    )
    resnet = side["resnet50"] = run_child(["resnet", "0", "11" if quick else "51"], timeout=600, pythonpath=pythonpath)
    if "error" in resnet:
        print(f"ResNet-50 in-process: {resnet['error']}")
    else:
        print(
            f"ResNet-50 in-process, parser built ({resnet['layers']} layers, median of {resnet['reps']}): "
            + ", ".join(f"{k} {ms(v)}" for k, v in resnet["stages"].items())
        )
    return side


def targets(side: dict, times: dict, peak: dict, skipped: dict, sizes, prefix: str = "") -> list[tuple]:
    """(target, measured, PASS/FAIL/n/a) for one side."""
    out = []

    def target(what, value, ok):
        out.append((what, value, "n/a" if ok is None else ("PASS" if ok else "FAIL")))

    checks = [n for n in CHECK_FORMS if prefix + n in times]
    for name in checks:
        t = statistics.median(times[prefix + name])
        target(f"{name} resnet50, cold: <= 150 ms", ms(t), t <= 0.150)
    for name in checks:
        if FLOOR in times:
            r = paired_ratio(times[prefix + name], times[FLOOR])
            target(f"{name} / floor (import lark, networkx): <= 1.3x", f"{r:.2f}x", r <= 1.3)
    for name in checks:
        if TORCHINFO in times:
            r = paired_ratio(times[TORCHINFO], times[prefix + name])
            target(f"torchinfo route / {name}: >= 8x", f"{r:.1f}x", r >= 8)
        else:
            target(f"torchinfo route / {name}: >= 8x", "skipped: torch/torchinfo/numpy not installed", None)
    resnet = side["resnet50"]
    if "error" not in resnet:
        t = resnet["stages"]["load+analyze"]
        target(
            "ResNet-50 in-process analysis (load: parse, graph; inference), parser built: <= 5 ms", ms(t), t <= 0.005
        )
    else:
        target("ResNet-50 in-process analysis: <= 5 ms", resnet["error"], False)
    target(
        f"scaling exponent of total time, N = {', '.join(f'{n:,}' for n in sizes)}: < 1.1",
        f"{side['exponent']:.3f}" + ("" if side["complete"] else " (sizes missing)"),
        side["exponent"] < 1.1 and side["complete"],
    )
    ten = side["sizes"].get(10_000)
    if ten and "error" not in ten:
        target(
            "10,000-layer chain checked in-process (parse+graph+inference): < 1 s", ms(ten["check"]), ten["check"] < 1
        )
    else:
        target(
            "10,000-layer chain checked in-process: < 1 s",
            (ten or {}).get("error", "not run"),
            None if not ten else False,
        )
    if prefix:
        target("render ResNet-50 to SVG, cold: < 1 s", "not measured for the baseline", None)
    elif RENDER in times:
        t = statistics.median(times[RENDER])
        target("render ResNet-50 to SVG, cold: < 1 s", ms(t), t < 1)
    else:
        target("render ResNet-50 to SVG, cold: < 1 s", skipped.get(RENDER, "not available"), None)
    big = side["sizes"].get(100_000)
    if big and "error" not in big:
        target(
            "peak memory, 100,000-layer chain (ru_maxrss of its process): < 1 GB",
            f"{big['peak_rss_mib']:,.0f} MiB",
            big["peak_rss_mib"] * 2**20 < 1e9,
        )
    else:
        target(
            "peak memory, 100,000-layer chain: < 1 GB",
            (big or {}).get("error", "not run (--quick)"),
            None if not big else False,
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and rounds, sizes up to 10,000")
    ap.add_argument("--rounds", type=int, help="cold-process rounds (default 21, --quick 5)")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="chain sizes, e.g. 100,1000")
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="also measure the convdsl source tree in DIR (e.g. `git archive` of an older commit), "
        "side by side: a before/after column in every table",
    )
    ap.add_argument("--no-stages", action="store_true", help="only the cold processes")
    ap.add_argument("--json", metavar="PATH", help="also write every measurement as JSON")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "N", "REPS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, n, reps = args.child
        print(json.dumps(child_stages(kind, int(n), int(reps))))
        return 0

    sizes = args.sizes or (SIZES[:3] if args.quick else SIZES)
    rounds = args.rounds or (5 if args.quick else 21)
    baseline = str(Path(args.baseline).resolve()) if args.baseline else None
    print(f"convdsl benchmark: {machine()}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set here; it is removed for the child processes (see the docstring)")
    results: dict = {"machine": machine()}

    empty = {
        "sizes": {},
        "points": [],
        "exponent": float("nan"),
        "complete": False,
        "resnet50": {"error": "not run (--no-stages)"},
    }
    sides = {}
    if not args.no_stages:
        if baseline:
            sides["baseline"] = measure_stages(sizes, args.quick, baseline, f"baseline ({baseline})")
        sides["current"] = measure_stages(sizes, args.quick, None, "this checkout" if baseline else "stages")
    results["stages"] = sides

    with tempfile.TemporaryDirectory(prefix="convdsl-bench-") as tmp:
        commands, skipped = cold_commands(Path(tmp), baseline)
        print(f"\ncold processes, {rounds} alternating rounds (wall time; peak RSS from wait4):")
        times, peak, failed = run_cold(commands, rounds, Path(tmp))
    skipped.update(failed)
    results["cold"], results["cold_peak_rss_mib"], results["skipped"] = times, peak, skipped
    rows = []
    for name, values in times.items():
        ratio = f"{paired_ratio(values, times[FLOOR]):.2f}x" if FLOOR in times else "-"
        rows.append(
            (name, ms(statistics.median(values)), ms(min(values)), ms(max(values)), ratio, f"{peak[name]:,.0f} MiB")
        )
    print_table(("command", "median", "min", "max", "vs floor", "peak RSS"), rows, right={1, 2, 3, 4, 5})
    for name, why in skipped.items():
        print(f"{name}: skipped, {why}")

    current = targets(sides.get("current", empty), times, peak, skipped, sizes)
    results["targets"] = current
    print("\ntargets (medians):")
    if baseline:
        before = targets(sides.get("baseline", empty), times, peak, skipped, sizes, prefix="baseline ")
        results["baseline_targets"] = before
        print_table(
            ("target", "baseline", "", "this checkout", "result"),
            [(t, b, br, c, cr) for (t, b, br), (_, c, cr) in zip(before, current)],
        )
    else:
        print_table(("target", "measured", "result"), current)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(r != "FAIL" for _, _, r in current) else 1


if __name__ == "__main__":
    sys.exit(main())
