"""The language server's latency, as an editor sees it (issue 20's targets).

Starts `convdsl lsp` as a subprocess, opens benchmarks/resnet152.cdsl (ResNet-152
written with blocks) and measures, over stdio:
- didChange -> publishDiagnostics: the time from sending an edit to receiving the
  diagnostics of that version (read and decoded by the client's reader thread; the client's own
  hand-off from that thread to the one timing it is left out); target p95 <= 20 ms. Three edits, each
  alternating so that every version really is analysed again:
  - conv1's channels, 64 <-> 65: a number a layer's call writes, analysed from the version before
    (convdsl/incremental/);
  - conv1's bias, false <-> true: an argument that is no number, its layer bound again (rebind.py);
  - conv1's line's relu <-> gelu: a layer's kind, its layer bound again and renamed (relu1 <-> gelu1: rebind.py);
  - ` -> gelu` put in after conv1's line's relu and taken out again, in one edit each (a paste, an undo): a
    layer more or less, its node and edges put in or taken out (splice.py).
  Each twice: back to back (each edit sent as soon as the diagnostics of the one before arrive: a
  throughput no typist reaches, where whatever the server does after publishing delays the next edit),
  then at typing pace (`--pace`, 50 ms between one edit's diagnostics and the next edit: 20 keystrokes a
  second, faster than anyone types);
- typing a new layer, at the same pace: ` -> gelu` typed after conv1's line's `relu` a key at a time, then
  erased a key at a time: ` -`, ` ->` and ` -> ` have a syntax error (published as such), ` -> g` to
  ` -> gel` name no kind (the chain cut there), ` -> gelu` a layer more (the chain mended: splice.py);
- a line broken and joined again, at the same pace: `\\n   ` typed before ` -> maxpool:` on conv1's line (the
  rest of it a chain's next line) and taken out again; every place after it moves a line, the diagnostics
  with them (trivia.py);
- a new line typed, at the same pace: after layer3's line, the Enter key, the indentation and
  `-> drop: dropout(0.2)` a key at a time, then erased a key at a time, the line break last: white space,
  syntax errors, names no kind has, a layer put in, its argument typed; the texts that none of the quick
  paths answers (a name no kind has put in before a group, a label typed) are analysed whole;
- hover on a layer, a block call and a tensor (the snapshot is current); target p95 <= 5 ms;
- a burst on a large network (a 20,000-layer chain, about a second per analysis): an edit, then another
  while the first is being analysed; the time from the second edit to its diagnostics, beside one
  analysis alone (the first's analysis is abandoned at a checkpoint, not run to its end: cancel.py);
- the machine's speed while it ran: a fixed pure-Python loop, timed five times (this host's speed drifts);
- for reference, in this process: the analysis alone (`convdsl.loads(text).analyze()`, what `check` does)
  and the server's snapshot of the same text (the analysis, the position index, suppressions), so that on a
  loaded machine the server's own share of a round trip can still be told apart.

    python benchmarks/lsp_latency.py [--edits 200] [--paced 100] [--pace 50] [--hovers 300] [--large 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from lsp_client import LspClient

FILE = HERE / "resnet152.cdsl"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (Linux's /proc/PID/stat: utime and stime, in clock ticks)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _burst(client, layers: int, rounds: int = 5) -> tuple[list[float], list[float], list[float]]:
    """(one edit's round trip, the round trip of an edit sent while the one before it was analysed, the round
    trip of an edit of no number: the first relu made a gelu and back, analysed whole), in ms."""
    lines = "".join("\n    -> conv(8, 3, p=1) -> relu" for _ in range(layers // 2))
    text = f"input x: 8 x 16 x 16\ny = x{lines}\n"
    uri = client.open(HERE / "large-chain.cdsl", text)  # not on disk: the editor's text is all there is
    client.diagnostics(uri, 1, timeout=600)
    line = 2  # the first `-> conv(8, ...)`: 8 <-> 9 channels, a change every layer after it sees
    column = len("    -> conv(")
    single, burst = [], []
    written = ["8"]  # conv1's channels as the text has them now: each edit writes the other number

    def flip() -> int:
        written[0] = "9" if written[0] == "8" else "8"
        edit = {"start": {"line": line, "character": column}, "end": {"line": line, "character": column + 1}}
        return client.change(uri, written[0], edit)

    for _ in range(rounds):
        start = time.perf_counter()
        client.diagnostics(uri, flip(), timeout=600)
        single.append((time.perf_counter() - start) * 1000)
        time.sleep(2 * single[-1] / 1000 + 2.0)  # the whole analysis that follows an edit, left to end
        first = flip()
        time.sleep(single[-1] / 2000)  # half way through the first edit's analysis
        start = time.perf_counter()
        second = flip()
        client.diagnostics(uri, second, timeout=600)
        burst.append((time.perf_counter() - start) * 1000)
        assert first < second
        time.sleep(2.0)
    whole = []
    kind = line, len("    -> conv(8, 3, p=1) -> ")
    for i in range(rounds):
        edit = {"start": {"line": kind[0], "character": kind[1]}, "end": {"line": kind[0], "character": kind[1] + 4}}
        start = time.perf_counter()
        client.diagnostics(uri, client.change(uri, "gelu" if i % 2 == 0 else "relu", edit), timeout=600)
        whole.append((time.perf_counter() - start) * 1000)
    if rounds % 2:
        client.diagnostics(uri, client.change(uri, "relu", edit), timeout=600)
    return single, burst, whole


def _timed(client, uri, text: str, start: tuple, end: tuple, pause: float) -> float:
    """didChange -> publishDiagnostics, in ms, of one incremental edit writing `text` over (line, character)
    `start` to `end`, sent `pause` seconds after the diagnostics of the edit before: until the client's reader
    thread had the message, not the hand-off to this thread after it."""
    if pause:
        time.sleep(pause)
    begin = time.perf_counter()
    where = {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}
    client.diagnostics(uri, client.change(uri, text, where), timeout=60)
    return (client.received - begin) * 1000


def _keystrokes(client, uri, keystrokes: list, rounds: int, pause: float) -> list[float]:
    """_timed for each of `keystrokes`, (start, end, text), in turn, `rounds` times."""
    return [_timed(client, uri, text, start, end, pause) for _ in range(rounds) for start, end, text in keystrokes]


def _edits(client, uri, line: int, column: int, count: int, pause: float, words=("64", "65")) -> list[float]:
    """didChange -> publishDiagnostics, in ms, for `count` edits at (line, column) writing words[0] and words[1] in
    turn over each other (one incremental edit each: conv1's channels 64 <-> 65, or its bias false <-> true),
    each sent `pause` seconds after the diagnostics of the one before."""
    changes = []
    for i in range(count):
        new, old = (words[0], words[1]) if i % 2 else (words[1], words[0])
        changes.append(_timed(client, uri, new, (line, column), (line, column + len(old)), pause))
    return changes


TYPED = " -> gelu"  # typed after conv1's line's `relu`, a character at a time, then erased


def _typing(client, uri, line: int, column: int, rounds: int, pause: float) -> list[float]:
    """didChange -> publishDiagnostics, in ms, for each keystroke of TYPED typed at (line, column), then each
    backspace taking it out again, `rounds` times, a keystroke `pause` seconds after the diagnostics of the one
    before. Most of the texts on the way are broken: ` -` and ` -> ` are syntax errors (published as such, then
    what could be read is analysed: recover.py), ` -> g` to ` -> gel` name no kind (E005, the chain cut)."""
    keystrokes = [((line, column + i), (line, column + i), char) for i, char in enumerate(TYPED)]
    keystrokes += [((line, column + i - 1), (line, column + i), "") for i in range(len(TYPED), 0, -1)]
    return _keystrokes(client, uri, keystrokes, rounds, pause)


NEW_LINE = "    -> drop: dropout(0.2)"  # typed as a line of its own after layer3's, then erased
# typed as a line of its own in the bottleneck block's body (after its first line), in ResNet-152 written in one
# file (ONE_FILE), then erased: one layer more in each of the block's 50 instances
BODY_LINE = "        -> drop: dropout(0.1)"
ONE_FILE = "resnet152-one-file.cdsl"  # not on disk: resnet152.cdsl with its included blocks written in it


def _one_file(text: str) -> str:
    """resnet152.cdsl's text with the blocks it includes written in it instead."""
    include = 'include "../examples/resnet_blocks.cdsl"\n'
    blocks = (HERE.parent / "examples" / "resnet_blocks.cdsl").read_text()
    return blocks + "\n" + text.replace(include, "")


def _new_line(client, uri, line: int, column: int, rounds: int, pause: float, typed: str = NEW_LINE) -> list[float]:
    """didChange -> publishDiagnostics, in ms, for each keystroke of a new line typed after (line, column), the
    end of a line in a chain: the Enter key, the indentation, then NEW_LINE a key at a time; then each
    backspace taking it out again, the line break last; `rounds` times, a keystroke `pause` seconds after the
    diagnostics of the one before (`typed`: another line). On the way: white space (trivia.py), syntax errors (` -`, `drop:`,
    `dropout(0.`), names no kind has (` -> d`, `drop: dropou`: the chain cut), a layer put in (`dropout`),
    its argument typed (`dropout(0.2)`)."""
    keystrokes = [((line, column), (line, column), "\n")]
    keystrokes += [((line + 1, i), (line + 1, i), char) for i, char in enumerate(typed)]
    keystrokes += [((line + 1, i - 1), (line + 1, i), "") for i in range(len(typed), 0, -1)]
    keystrokes += [((line, column), (line + 1, 0), "")]
    return _keystrokes(client, uri, keystrokes, rounds, pause)


def _line_breaks(client, uri, line: int, column: int, count: int, pause: float) -> list[float]:
    """didChange -> publishDiagnostics, in ms, for `count` edits (an even number: the file is left as it was) at
    (line, column) that break the line there (`\\n   `, the rest of it a chain's next line) and join it again in
    turn, each sent `pause` seconds after the diagnostics of the one before."""
    broken, joined = ((line, column), (line, column), "\n   "), ((line, column), (line + 1, 3), "")
    return _keystrokes(client, uri, [broken, joined], count // 2, pause)


def _machine_speed(rounds: int = 5) -> tuple[float, float]:
    """(fastest, slowest) of a fixed pure-Python loop, in ms: this host's speed drifts by a factor of two within
    minutes, so a run's latencies are read beside it (the same loop, the same interpreter, every run)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        times.append((time.perf_counter() - start) * 1000)
    return min(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--hovers", type=int, default=300)
    parser.add_argument(
        "--paced", type=int, default=100, help="edits sent at typing pace (after the back-to-back ones)"
    )
    parser.add_argument("--pace", type=float, default=50.0, help="ms from one edit's diagnostics to the next edit")
    parser.add_argument("--large", type=int, default=20_000, help="layers of the burst's network (0: no burst)")
    args = parser.parse_args()
    before = _machine_speed()
    client = LspClient()
    try:
        client.initialize()
        text = FILE.read_text()
        uri = client.open(FILE, text)
        client.diagnostics(uri, 1, timeout=60)
        line = text.splitlines().index(next(t for t in text.splitlines() if "conv1: conv(64" in t))
        column = text.splitlines()[line].index("conv(64") + len("conv(")
        cpu_before = _cpu_seconds(client.process.pid)
        changes = _edits(client, uri, line, column, args.edits, 0.0)
        cpu_per_edit = (_cpu_seconds(client.process.pid) - cpu_before) / max(1, args.edits) * 1000
        paced = _edits(client, uri, line, column, args.paced, args.pace / 1000)
        if (args.edits + args.paced) % 2:  # leave the file as it was
            client.diagnostics(uri, client.change(uri, text), timeout=60)
        # an argument that is not a number: conv1's bias, false <-> true (its layer bound again: rebind.py)
        bias = text.splitlines()[line].index("bias=false") + len("bias=")
        words = ("false", "true")
        other = _edits(client, uri, line, bias, args.edits, 0.0, words)
        other_paced = _edits(client, uri, line, bias, args.paced, args.pace / 1000, words)
        if (args.edits + args.paced) % 2:
            client.diagnostics(uri, client.change(uri, text), timeout=60)
        # a layer's kind: conv1's line's relu <-> gelu (its layer bound again and renamed: rebind.py)
        relu = text.splitlines()[line].index("-> relu") + len("-> ")
        words = ("relu", "gelu")
        kind = _edits(client, uri, line, relu, args.edits, 0.0, words)
        kind_paced = _edits(client, uri, line, relu, args.paced, args.pace / 1000, words)
        if (args.edits + args.paced) % 2:
            client.diagnostics(uri, client.change(uri, text), timeout=60)
        # a layer put in after it and taken out again, one edit each (its node and edges: splice.py)
        after_relu = text.splitlines()[line].index("-> relu") + len("-> relu")
        words = ("", TYPED)
        layer = _edits(client, uri, line, after_relu, args.edits, 0.0, words)
        layer_paced = _edits(client, uri, line, after_relu, args.paced, args.pace / 1000, words)
        if (args.edits + args.paced) % 2:
            client.diagnostics(uri, client.change(uri, text), timeout=60)
        typing = _typing(client, uri, line, after_relu, max(1, args.paced // (2 * len(TYPED))), args.pace / 1000)
        # a line broken before ` -> maxpool:` and joined again (analysed whole: every place after it moves)
        breaks = _line_breaks(client, uri, line, after_relu, args.paced - args.paced % 2, args.pace / 1000)
        stage = text.splitlines().index(next(t for t in text.splitlines() if "-> layer3:" in t))
        rounds = max(1, args.paced // (2 * len(NEW_LINE) + 2))
        new_line = _new_line(client, uri, stage, len(text.splitlines()[stage]), rounds, args.pace / 1000)
        lines = text.splitlines()
        # a number in a block's use: layer2's first bottleneck's channels, 128 <-> 129 (its instance's layers
        # bound again: blockargs.py), and layer3's repeat count, 35 <-> 36 (a copy put in or taken out:
        # recount.py); an even count of each: the file is left as it was
        stage2 = lines.index(next(t for t in lines if "-> layer2:" in t))
        channels = lines[stage2].index("bottleneck(128") + len("bottleneck(")
        even = args.paced - args.paced % 2
        block_arg = _edits(client, uri, stage2, channels, even, args.pace / 1000, ("128", "129"))
        count = lines[stage].index("* 35") + len("* ")
        repeat = _edits(client, uri, stage, count, even, args.pace / 1000, ("35", "36"))
        places = [
            (line, lines[line].index("conv(64") + 1),  # a layer
            (
                lines.index(next(t for t in lines if "bottleneck(256) * 35" in t)),
                lines[lines.index(next(t for t in lines if "bottleneck(256) * 35" in t))].index("bottleneck(256)") + 2,
            ),
            (lines.index(next(t for t in lines if t.startswith("features"))), 2),
        ]  # a tensor
        hovers = []
        for i in range(args.hovers):
            where = places[i % len(places)]
            start = time.perf_counter()
            result = client.at("textDocument/hover", uri, *where)
            hovers.append((time.perf_counter() - start) * 1000)
            assert result is not None, where
        # a layer typed into a block's body: one in each of its instances (ResNet-152 in one file)
        one_file = _one_file(text)
        body_uri = client.open(HERE / ONE_FILE, one_file)
        client.diagnostics(body_uri, 1, timeout=60)
        first = (
            one_file.splitlines().index(next(t for t in one_file.splitlines() if "-> conv2: conv(c, 3, s=" in t)) - 1
        )
        rounds = max(1, args.paced // (2 * len(BODY_LINE) + 2))
        body = _new_line(
            client, body_uri, first, len(one_file.splitlines()[first]), rounds, args.pace / 1000, BODY_LINE
        )
        single, burst, whole = _burst(client, args.large) if args.large else ([], [], [])
    finally:
        client.close()
    import os

    import convdsl
    from convdsl.lsp.snapshot import build

    path = os.path.abspath(FILE)
    alone, snapshot = [], []
    for _ in range(max(20, args.edits // 4)):
        start = time.perf_counter()
        convdsl.loads(text, path).analyze()
        alone.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        build(path, text)
        snapshot.append((time.perf_counter() - start) * 1000)
    for name, values, target in (
        ("didChange -> publishDiagnostics", changes, 20.0),
        (f"  the same, one every {args.pace:g} ms", paced, 20.0),
        ("  an argument of no number", other, 20.0),
        (f"  the same, one every {args.pace:g} ms", other_paced, 20.0),
        ("  a layer's kind", kind, 20.0),
        (f"  the same, one every {args.pace:g} ms", kind_paced, 20.0),
        ("  a layer put in or out", layer, 20.0),
        (f"  the same, one every {args.pace:g} ms", layer_paced, 20.0),
        (f"  typing `{TYPED.strip()}`, one key every {args.pace:g} ms", typing, 20.0),
        ("  a line broken and joined again", breaks, 20.0),
        (f"  a new line typed, one key every {args.pace:g} ms", new_line, 20.0),
        (f"  the same in a block's body, every {args.pace:g} ms", body, 20.0),
        (f"  a block's argument, every {args.pace:g} ms", block_arg, 20.0),
        (f"  a repeat's count, every {args.pace:g} ms", repeat, 20.0),
        ("hover", hovers, 5.0),
        ("in-process analysis alone", alone, None),
        ("in-process snapshot (server)", snapshot, None),
    ):
        p50, p95 = percentile(values, 50), percentile(values, 95)
        verdict = "" if target is None else f"(target p95 <= {target:g} ms) " + ("PASS" if p95 <= target else "FAIL")
        print(
            f"{name:40} n={len(values):4}  min {min(values):6.2f}  p50 {p50:6.2f}  p95 {p95:6.2f}  "
            f"max {max(values):7.2f} ms  {verdict}"
        )
    if burst:
        print(
            f"large network ({args.large:,} layers), medians of {len(single)}: one edit of a number, its diagnostics "
            f"after {statistics.median(single):.0f} ms; an edit made while the one before it is analysed, after "
            f"{statistics.median(burst):.0f} ms; an edit of no number (analysed whole), after "
            f"{statistics.median(whole):.0f} ms"
        )
    print(
        f"server CPU time per edit {cpu_per_edit:.2f} ms (user + system, all its threads: what an edit costs the "
        "machine, whatever else runs on it)"
    )
    after = _machine_speed()
    print(
        f"machine speed: a million-step Python loop took {before[0]:.0f} to {before[1]:.0f} ms before the run, "
        f"{after[0]:.0f} to {after[1]:.0f} ms after it"
    )
    print(
        f"mean didChange {statistics.mean(changes):.2f} ms, mean hover {statistics.mean(hovers):.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
