"""Which input sizes does a network accept?

Every spatial axis of every input is swept from 1 to a maximum through a
Probe (the catalogue's own shape rules), holding the other axes at their
declared sizes. The valid sizes are then described by a rule a person can
read ("multiples of 32 from 32", "16k + 12 for k >= 11"); the rule is derived
from the swept list and re-checked against it, so it is never a guess.

An axis is a *variable*: a numeric axis belongs to one input; a symbolic axis
(`input x: 3 x H x W`) is shared by every input that names the same symbol, and
the sweep moves all of them together.

A block may read a size of its input (`in.shape[2]`) and make its layers from
it; lowering read it once, at the declared size. The Probe's answer at another
size stands only where every size so read that it depends on is unchanged (the
channels, usually); elsewhere the network is built again from its text with the
input declared at the size tried, and that network answers (see Sweeper.verdict).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .diagnostics import LIMIT_EXCEEDED
from .model import Limits
from .probe import Failure, Probe

if TYPE_CHECKING:  # for annotations only: the Network sits above this module
    from .network import Network

DEFAULT_MAX = 1024
NOMINAL = 224  # where a symbolic size is sampled when it has no declared value
# The work one analysis may spend, in layers run by the Probe (each size tried runs every layer once,
# plus one for the try itself). About 3 s and 150 MB at most: ResNet-50 at --max 1024 takes a sixth of it.
BUDGET = 3_000_000
# A rebuild (parse, lowering, a Probe) costs, in layer runs: measured, a rebuild takes about 0.5 ms plus
# 40 us (a plain chain: ResNet-50) to 120 us (blocks in blocks) a layer, where the Probe runs a layer in
# about 1 us.
REBUILD_BASE = 500
REBUILD_PER_LAYER = 120
LONGEST_PERIOD = 4096  # rules repeat with at most this period; longer patterns are listed


class SweepBudget(Exception):
    """A sweep would run more layers than its budget allows."""

    def __init__(self, budget: int, cost: int):
        super().__init__(f"budget of {budget:,} layer runs")
        self.budget, self.cost = budget, cost


@dataclass(frozen=True)
class Variable:
    name: str  # the axis name (H, W, L, D) or the file's own symbol
    members: tuple[tuple[str, int], ...]  # (input name, index into its dims) this variable sets
    declared: int | None  # None for a symbolic size

    @property
    def symbolic(self) -> bool:
        return self.declared is None


@dataclass(frozen=True)
class Rule:
    """The valid sizes in 1..limit: a finite prefix, then n >= start with n % period in residues."""

    text: str
    period: int | None
    residues: tuple[int, ...]
    start: int | None
    extra: tuple[int, ...]  # valid sizes below `start` outside the periodic pattern

    def contains(self, n: int) -> bool:
        if n in self.extra:
            return True
        return self.period is not None and n >= self.start and n % self.period in self.residues


@dataclass
class AxisSizes:
    variable: Variable
    valid: list[int]  # ascending, within 1..limit
    rule: Rule
    below: int | None  # nearest valid size below the declared one
    above: int | None
    declared_failure: Failure | None  # why the declared size fails, if it does
    coupled_with: tuple[str, ...] = ()  # other axes whose size changes which sizes are valid here
    sampled_at: dict[str, int] = field(default_factory=dict)  # other variables held away from their declared size
    declared_others: dict[str, int | None] = field(default_factory=dict)  # the other variables' declared sizes


@dataclass
class SizesReport:
    network: Network
    strict: bool
    limit: int
    axes: list[AxisSizes]
    problem: str | None = None  # why nothing could be swept (errors that do not depend on sizes)
    sample: dict[str, int] = field(default_factory=dict)  # variable name -> a size where everything works
    sample_found: bool = True  # False: no joint size works; `sample` is then only nominal
    sweeper: Sweeper | None = None


def variables(network: Network) -> list[Variable]:
    """The spatial axes of the inputs, symbolic ones merged by name."""
    found: dict[str, Variable] = {}
    out: list[Variable] = []
    for name, spec in network.inputs.items():
        for index in spec.spatial_indices():
            dim, axis = spec.dims[index], spec.axes[index]
            if isinstance(dim, str):
                key = f"symbol:{dim}"
                if key in found:
                    merged = Variable(dim, found[key].members + ((name, index),), None)
                    out[out.index(found[key])] = merged
                    found[key] = merged
                    continue
                found[key] = Variable(dim, ((name, index),), None)
                out.append(found[key])
            else:
                out.append(Variable(axis, ((name, index),), dim))
    return out


class Sweeper:
    """Input dims for any assignment of the variables, and the probe to test them."""

    def __init__(self, network: Network, *, strict: bool = False, limit: int = DEFAULT_MAX, budget: int = BUDGET):
        self.network = network
        self.strict = strict
        self.probe = Probe(network, strict=strict)
        self.limit = limit
        self.variables = variables(network)
        self.base: dict[str, int] = {}
        self.budget = budget
        # One size tried: the layers run, the shapes each reads (they key the Probe's memo) and the input
        # shapes made for it.
        self.cost = (
            1 + len(self.probe.steps) + sum(len(step.sources) for step in self.probe.steps) + len(self.variables)
        )
        self.spent = 0
        # Once a point is found where the whole network works (the anchor: its sizes and every shape),
        # a size tried runs only the layers downstream of the inputs it changes.
        self.anchor: tuple[dict, dict] | None = None
        self._inputs_of = {self._key(v): tuple({name for name, _ in v.members}) for v in self.variables}
        self._downstream: dict[tuple, tuple[int, ...]] = {}
        self._influence: dict[str, frozenset[int]] = {}
        # The sizes read by `.shape` while lowering, each with the first step (in the Probe's order) that
        # was made after it and so may depend on it
        self._step_of = {step.node: index for index, step in enumerate(self.probe.steps)}
        self.reads, self._first_after = _distinct_reads(network, self._step_of)
        # each size tried checks the reads too
        self.cost += len(self.reads)
        layers = max(len(self.probe.steps), sum(len(src.text) for src in network.sources.values()) // 200)
        self.rebuild_cost = REBUILD_BASE + REBUILD_PER_LAYER * layers + self.cost
        self._rebuilt: dict[tuple, Failure | None] = {}
        self._reads_changed: dict[str, bool] = {}  # variable key -> whether a read changes with it

    def downstream(self, keys) -> tuple[int, ...]:
        """The steps a change of these variables (keys) can reach, in the Probe's order."""
        keys = tuple(sorted(keys))
        found = self._downstream.get(keys)
        if found is None:
            found = self.probe.downstream({name for key in keys for name in self._inputs_of[key]})
            self._downstream[keys] = found
        return found

    def sweep_cost(self, var: Variable) -> int:
        """What one size of this variable costs against the budget, once there is an anchor."""
        steps = self.probe.steps
        fast = 2 + sum(1 + len(steps[i].sources) for i in self.downstream([self._key(var)]))
        return fast + (self.rebuild_cost if self.reads_change(var) else 0)

    def reads_change(self, var: Variable) -> bool:
        """Whether a size read by `.shape` changes with this variable, at the sizes tried (one up, double):
        then a sweep of it builds the network again at each size."""
        if not self.reads or var.declared is None:
            return False
        key = self._key(var)
        if key not in self._reads_changed:
            self._reads_changed[key] = False
            for size in (var.declared + 1, 2 * var.declared):
                self.spent += self.cost
                if self.spent > self.budget:
                    raise SweepBudget(self.budget, self.cost)
                shapes: dict = {}
                self.probe.run(self.dims({key: size}), shapes)
                if any(not self._read_holds(r, shapes, {}, ()) for r in self.reads if (r.node, r.port) in shapes):
                    self._reads_changed[key] = True
                    break
        return self._reads_changed[key]

    def _read_holds(self, read, local: dict, base: dict, stale) -> bool:
        """Whether the size `read` has its lowering value in a run's shapes (`local`, else `base` for a node
        the run did not touch)."""
        shape = local.get((read.node, read.port))
        if shape is None and read.node not in stale:
            shape = base.get((read.node, read.port))
        return shape is not None and read.dim < len(shape) and shape[read.dim] == read.value

    def verdict(self, values: dict, failure: Failure | None, local: dict, base: dict, stale) -> Failure | None:
        """The Probe's `failure` (or pass) at `values`, if it holds for the network made at those sizes.

        The Probe runs the layers as lowering made them at the declared sizes. Its answer stands when every
        size read by `.shape` that a layer run so far may depend on (one made after the read, up to the
        failing step) has the value lowering read: then those layers are the ones the network has at
        `values`. Otherwise the network is built again with its inputs declared at `values` and answers.
        """
        if not self.reads:
            return failure
        reached = self._step_of.get(failure.node, -1) if failure is not None else len(self.probe.steps)
        if all(
            first > reached or self._read_holds(read, local, base, stale)
            for read, first in zip(self.reads, self._first_after)
        ):
            return failure
        return self._rebuild_verdict(values)

    def _rebuild_verdict(self, values: dict) -> Failure | None:
        """The answer of the network built again from its text with its inputs declared at `values`."""
        from .fixes import Edit, apply

        sizes = {key: value for key, value in values.items() if value is not None}
        edits = []
        for var in self.variables:
            size = sizes.get(self._key(var), var.declared)
            if size == var.declared:
                continue
            for name, index in var.members:
                spec = self.network.inputs[name]
                if self.network.rebuild is None or index >= len(spec.dim_spans):
                    return Failure(name, "E013", "a block reads a size of this input, and it cannot be built again")
                edits.append(Edit(spec.dim_spans[index], str(size)))
        key = tuple(sorted((e.span.path, e.span.line, e.span.column, e.text) for e in edits))
        if key in self._rebuilt:
            return self._rebuilt[key]
        self.spent += self.rebuild_cost
        if self.spent > self.budget:
            raise SweepBudget(self.budget, self.rebuild_cost)
        # a size read may make more layers (a repeat count from `.shape`): the rebuild may make at most
        # what the budget has left, and one that stops at that limit stops the sweep
        room = max(1, (self.budget - self.spent) // REBUILD_PER_LAYER)
        limits = Limits(max_layers=min(Limits().max_layers, room))
        network = self.network.rebuild(self.network, apply(self.network.sources, edits), limits=limits)
        if any(d.code is LIMIT_EXCEEDED for d in network.diagnostics):
            self.spent = self.budget + 1
            raise SweepBudget(self.budget, self.rebuild_cost)
        self.spent += REBUILD_PER_LAYER * max(0, len(network.layer_graph.nodes) - len(self.probe.steps))
        error = next((d for d in network.diagnostics if d.is_error), None)
        if error is not None:
            where = f"line {error.span.line}" if error.span else network.name
            found = Failure(where, error.code.code, error.message)
        else:
            found = Probe(network, strict=self.strict).run(
                {name: tuple(spec.dims) for name, spec in network.inputs.items()}
            )
        self._rebuilt[key] = found
        return found

    def _set_anchor(self, values: dict) -> bool:
        """Make `values` the anchor if the whole network works there."""
        self.spent += self.cost
        if self.spent > self.budget:
            raise SweepBudget(self.budget, self.cost)
        shapes: dict = {}
        failure = self.probe.run(self.dims(values), shapes)
        if failure is None and not all(self._read_holds(read, shapes, {}, ()) for read in self.reads):
            # the Probe's layers are not this size's: no anchor to run from, though the network may work here
            return self._rebuild_verdict(values) is None
        if failure is not None:
            return self.verdict(values, failure, shapes, {}, ()) is None
        self.anchor = (dict(values), shapes)
        return True

    def _probe_values(self, values: dict) -> Failure | None:
        if self.anchor is None:
            return self._probe(values)
        return self._probe_from_anchor(values)

    def _probe_from_anchor(self, values: dict, shapes: dict | None = None) -> Failure | None:
        anchored, anchor_shapes = self.anchor
        changed = [key for key, value in values.items() if anchored.get(key) != value]
        indices = self.downstream(changed)
        steps = self.probe.steps
        self.spent += 1 + len(changed) + len(self.reads) + sum(1 + len(steps[i].sources) for i in indices)
        if self.spent > self.budget:
            raise SweepBudget(self.budget, self.cost)
        names = {name for key in changed for name in self._inputs_of[key]}
        local = {} if shapes is None else shapes
        failure = self.probe.run_steps(self._dims_of(values, names), anchor_shapes, indices, local)
        if not self.reads:
            return failure
        return self.verdict(values, failure, local, anchor_shapes, {steps[i].node for i in indices} | names)

    def _dims_of(self, values: dict, names) -> dict[str, tuple]:
        """Every input's dims with the variables at `values` (declared where absent), for the inputs `names`
        only (a size tried from the anchor builds only the inputs it changes)."""
        out = {name: list(self.network.inputs[name].dims) for name in names}
        for var in self.variables:
            for name, index in var.members:
                if name in out:
                    value = values.get(self._key(var))
                    out[name][index] = var.declared if value is None else value
        return {name: tuple(dims) for name, dims in out.items()}

    def influence(self, var: Variable) -> frozenset[int]:
        """The steps whose input shapes change with this variable near the anchor.

        Two variables that change no step's inputs in common cannot change each other's valid sizes
        (a step's verdict depends only on its inputs), so their pair needs no coupling check. The
        sizes tried: one either side, double, half, and the top of the sweep; a try that fails tells
        only about the steps it reached; if every try fails, everything downstream counts.
        """
        key = self._key(var)
        found = self._influence.get(key)
        if found is not None:
            return found
        anchored, anchor_shapes = self.anchor
        current = anchored[key]
        tries = {current - 1, current + 1, 2 * current, current // 2, self.limit, self.limit - 1}
        names = {(name, 0) for name in self._inputs_of[key]}
        reached = set()
        passed = False
        for size in sorted(n for n in tries if n >= 1 and n != current):
            shapes: dict = {}
            failure = self._probe_from_anchor({**anchored, key: size}, shapes)
            passed = passed or failure is None
            differs = names | {s for s, shape in shapes.items() if anchor_shapes.get(s) != shape}
            for index in self.downstream([key]):
                if any(source in differs for source in self.probe.steps[index].sources):
                    reached.add(index)
        found = frozenset(reached if passed else self.downstream([key]))
        self._influence[key] = found
        return found

    def _probe(self, values: dict) -> Failure | None:
        """The answer at `values` from a run of every layer, counted against the budget (which also bounds
        the Probe's memo)."""
        self.spent += self.cost
        if self.spent > self.budget:
            raise SweepBudget(self.budget, self.cost)
        if not self.reads:
            return self.probe.run(self.dims(values))
        shapes: dict = {}
        return self.verdict(values, self.probe.run(self.dims(values), shapes), shapes, {}, ())

    def dims(self, values: dict[str, int]) -> dict[str, tuple]:
        return self._dims_of(values, self.network.inputs)

    @staticmethod
    def _key(var: Variable) -> str:
        return f"{var.members[0][0]}.{var.members[0][1]}"

    def run(self, var: Variable | None = None, size: int | None = None) -> Failure | None:
        values = dict(self.base)
        if var is not None:
            values[self._key(var)] = size
        return self._probe_values(values)

    def choose_base(self, *, each_axis: bool = False) -> bool:
        """Sizes for every variable at which the whole network works, as close to the declared ones as possible.

        Each axis is swept with the others held here. When the declared sizes
        themselves fail (or are symbolic), the nearest point that works is searched
        axis by axis: points in order of their distance from the declared (or
        nominal) sizes, a declared size counting twice a symbolic one (which is
        free to move), so `3 x H x 33` keeps its 33 and finds an odd H (issue 15).
        Moving every axis by one shared offset finds no point at all when the axes
        need different parities (63 x 64 through layers that need even sizes: -1
        makes 62 x 63, +1 makes 64 x 65). The search has a budget of points; past
        it, the shared offsets are tried. With each_axis (the nearest-size fix,
        which names a size per axis), if that fails too, each variable moves on its
        own, to the size nearest its start at which the network takes that size on
        every axis, and the sizes so found are checked together.
        """
        start = {self._key(v): v.declared if v.declared is not None else NOMINAL for v in self.variables}
        weights = {self._key(v): 2 if v.declared is not None else 1 for v in self.variables}
        points = max(256, 8 * self.limit)
        for cost in range(0, 2 * self.limit * max(1, len(start)) + 1):
            for moves in _offsets(list(weights.items()), cost, self.limit):
                values = {key: n + moves.get(key, 0) for key, n in start.items()}
                if min(values.values(), default=1) < 1:
                    continue
                points -= 1
                if self._probe(values) is None:
                    self.base = values
                    return self._set_anchor(values)
                if points <= 0:
                    break
            if points <= 0:
                break
        offsets = sorted(range(-self.limit, self.limit + 1), key=lambda d: (abs(d), d))
        # a search that ran to its end has tried every shared offset already
        for offset in offsets if points <= 0 else ():
            values = {key: n + offset for key, n in start.items()}
            if min(values.values(), default=1) < 1:
                continue
            if self._probe(values) is None:
                self.base = values
                return self._set_anchor(values)
        own = self._each_axis(start, offsets) if each_axis else None
        self.base = own if own is not None else start
        return own is not None and self._set_anchor(own)

    def _each_axis(self, start: dict, offsets: list) -> dict | None:
        """Each variable at the size nearest its start that works on every axis, if together they work."""
        own = {}
        for key, n in start.items():
            own[key] = next(
                (n + d for d in offsets if n + d >= 1 and self._probe(dict.fromkeys(start, n + d)) is None),
                None,
            )
            if own[key] is None:
                return None
        return own if self._probe(own) is None else None

    def sweep(self, var: Variable, upto: int) -> list[int]:
        return [n for n in range(1, upto + 1) if self.run(var, n) is None]

    def nearest(self, var: Variable, size: int, *, reach: int | None = None) -> tuple[int | None, int | None]:
        """The closest valid sizes strictly below and above `size`."""
        reach = reach or max(self.limit, 2 * size)
        below = next((n for n in range(size - 1, max(0, size - reach - 1), -1) if self.run(var, n) is None), None)
        above = next((n for n in range(size + 1, size + reach + 1) if self.run(var, n) is None), None)
        return below, above


def _distinct_reads(network: Network, step_of: dict) -> tuple[tuple, tuple[int, ...]]:
    """The sizes read by `.shape`, each once (a block repeated reads the same sizes again), with the first
    step (in the Probe's order) among the layers made after it: lowering made every layer that can depend
    on a read after it."""
    reads = network.shape_reads
    if not reads:
        return (), ()
    made = [step_of.get(node, len(step_of)) for node in network.layer_graph.nodes]
    # the smallest step index among the layers made from position i on
    suffix = [len(step_of)] * (len(made) + 1)
    for i in range(len(made) - 1, -1, -1):
        suffix[i] = min(made[i], suffix[i + 1])
    first: dict = {}
    for read in reads:
        key = replace(read, made=0)
        first[key] = min(first.get(key, len(step_of)), suffix[min(read.made, len(made))])
    return tuple(first), tuple(first.values())


def _offsets(weighted: list, cost: int, limit: int):
    """Every {key: offset} with sum(weight * |offset|) == cost and each |offset| <= limit, smaller moves of
    earlier keys first."""
    if not weighted:
        if cost == 0:
            yield {}
        return
    (key, weight), rest = weighted[0], weighted[1:]
    for size in range(0, min(limit, cost // weight) + 1):
        for tail in _offsets(rest, cost - size * weight, limit):
            if size == 0:
                yield tail
            else:
                yield {key: -size, **tail}
                yield {key: size, **tail}


def analyze_sizes(
    network: Network, *, strict: bool = False, limit: int = DEFAULT_MAX, budget: int = BUDGET
) -> SizesReport:
    """Every spatial axis swept from 1 to limit; within `budget` layer runs, else a report of the limit."""
    sweeper = Sweeper(network, strict=strict, limit=limit, budget=budget)
    if not sweeper.probe.usable:
        return SizesReport(network, strict, limit, [], "the network has errors that do not depend on input sizes")
    if not sweeper.variables:
        return SizesReport(network, strict, limit, [], "the inputs have no spatial axes")
    try:
        # The sweeps alone cost this much: refuse at once what cannot finish within the budget.
        needed = sum(sweeper.sweep_cost(var) for var in sweeper.variables) * limit
        if needed > budget:
            return SizesReport(network, strict, limit, [], _over_budget(sweeper, budget, needed))
        return _analyze(network, sweeper, strict, limit)
    except SweepBudget:
        return SizesReport(network, strict, limit, [], _over_budget(sweeper, budget, None))


def _over_budget(sweeper: Sweeper, budget: int, needed: int | None) -> str:
    axes, layers = len(sweeper.variables), len(sweeper.probe.steps)
    what = f"needs {needed:,}" if needed else "ran out of its budget"
    cost, how = sweeper.cost, "a run per layer, input and axis"
    if sweeper._rebuilt or any(sweeper._reads_changed.values()):
        cost, how = sweeper.rebuild_cost, "a block reads a size the sweep changes, so the network is built again"
    message = (
        f"sweeping {axes} ax{'es' if axes != 1 else 'is'} of {layers:,} layer{'s' if layers != 1 else ''} "
        f"from 1 to {sweeper.limit:,} {what} (each size tried costs {cost:,}: {how}), beyond the limit of {budget:,}"
    )
    fits = next(
        (m for m in (1024, 512, 256, 128, 64, 32, 16) if m < sweeper.limit and cost * _runs(axes, m) <= budget),
        None,
    )
    if fits is not None:
        return f"{message}; try --max {fits}"
    if cost != sweeper.cost:
        return (
            f"{message}; in blocks, read only sizes a sweep does not change (the channels) or write the swept "
            "size out" + (", or use fewer inputs" if len(sweeper.network.inputs) > 1 else "")
        )
    return f"{message}; with {axes} axes, checking how each pair interacts is too much: use fewer inputs"


def _runs(axes: int, limit: int) -> int:
    """Sizes tried, at most, for `axes` variables swept to `limit`: the sweeps, the search for a base and
    the pairwise coupling checks (see _coupled)."""
    sample = min(limit, 64) + 48 + 16
    return axes * limit + 2 * limit + 1 + axes * (axes - 1) * 4 * sample


def _analyze(network: Network, sweeper: Sweeper, strict: bool, limit: int) -> SizesReport:
    found = sweeper.choose_base()
    sample = {v.name: sweeper.base[Sweeper._key(v)] for v in sweeper.variables}
    axes = []
    for var in sweeper.variables:
        swept = valid = sweeper.sweep(var, limit)
        declared_failure = below = above = None
        if var.declared is not None:
            declared_failure = sweeper.run(var, var.declared)
            below = max((n for n in swept if n < var.declared), default=None)
            above = min((n for n in swept if n > var.declared), default=None)
            if above is None or var.declared > limit:
                # Beyond the sweep only the declared size's neighbourhood is searched: sweeping every
                # size up to a declared width of 10^6 took minutes (and up to 2^40, forever).
                near_below, above = sweeper.nearest(var, max(var.declared, limit), reach=limit)
                if var.declared > limit and near_below is not None:
                    below = near_below
        others = {
            v.name: sweeper.base[Sweeper._key(v)]
            for v in sweeper.variables
            if v is not var and sweeper.base.get(Sweeper._key(v), v.declared) != v.declared
        }
        axes.append(
            AxisSizes(
                var,
                valid,
                derive_rule(valid, limit),
                below,
                above,
                declared_failure,
                _coupled(sweeper, var, valid),
                others,
                {v.name: v.declared for v in sweeper.variables if v is not var},
            )
        )
    return SizesReport(network, strict, limit, axes, None, sample, found, sweeper)


def _coupled(sweeper: Sweeper, var: Variable, valid: list[int]) -> tuple[str, ...]:
    """Other variables that change this one's valid sizes, found by re-testing at other sizes of theirs.

    If the axes are independent, the valid (this, other) pairs are a product:
    at any other size of the other axis, this axis accepts either exactly the
    same sizes or none. Axes only interact through layers that mix them (a
    reshape to a fixed size, say), which is rare; re-testing a sample (small
    sizes, sizes around every change from valid to invalid, a spread) at a few
    other sizes of each other variable finds it.
    """
    limit = sweeper.limit
    valid_set = set(valid)
    edges = sorted(n for n in range(1, limit + 1) if (n in valid_set) != (n - 1 in valid_set))
    sample = sorted(
        {m for n in edges[:24] for m in (n - 1, n) if 1 <= m <= limit}
        | set(range(1, min(limit, 64) + 1))
        | set(range(1, limit + 1, max(1, limit // 16)))
    )
    coupled = []
    for other in sweeper.variables:
        if other is var:
            continue
        # (a size read by `.shape` may carry a change to layers the Probe's wiring does not link: no shortcut)
        if sweeper.anchor is not None and not sweeper.reads and not sweeper.influence(var) & sweeper.influence(other):
            continue  # no layer reads a shape that both change: independent by construction
        key = Sweeper._key(other)
        current = sweeper.base.get(key, other.declared)
        alternatives = sorted(
            {n for n in (current - 1, current + 1, current * 2, current // 2) if n >= 1 and n != current}
        )
        base = dict(sweeper.base)
        try:
            for alt in alternatives:
                sweeper.base = {**base, key: alt}
                # where a layer ties the axes together (a reshape to H*W = 50176, a concat along one of them),
                # this axis's valid sizes move with the other's: scaled by alt/current, or shifted by the
                # difference; those are sampled too, so that "none here" is not a valid size missed
                moved = {
                    m
                    for v in valid[:32]
                    for m in (v * current // alt, v + current - alt, v - current + alt)
                    if 1 <= m <= limit
                }
                here = {n for n in sorted(set(sample) | moved) if sweeper.run(var, n) is None}
                if here and here != {n for n in sorted(set(sample) | moved) if n in valid_set}:
                    coupled.append(other.name)
                    break
        finally:
            sweeper.base = base
    return tuple(coupled)


def derive_rule(valid: list[int], limit: int) -> Rule:
    """The shortest periodic description of `valid` within 1..limit, checked against it."""
    members = set(valid)
    if not members:
        return Rule(f"none from 1 to {limit}", None, (), None, ())
    rule = _periodic(members, limit) or Rule(_listing(valid), None, (), None, tuple(valid))
    assert all(rule.contains(n) == (n in members) for n in range(1, limit + 1)), (rule, valid)
    return rule


def _periodic(members: set[int], limit: int) -> Rule | None:
    # Sizes as the bits of one integer: comparing the pattern with itself shifted by a period is a shift and
    # an exclusive or, not a loop over every size (--max 1,000,000 tried a third of a million periods).
    bits = 0
    for n in members:
        bits |= 1 << n
    # The period whose pattern explains the most, from the smallest size on: YOLOv8's sizes (25-32, 57-64,
    # ... 1017-1024) are periodic with 32 from 25, though every size from 1017 is valid too, which the
    # first period that held (1) described, with 248 exceptions listed.
    best = None
    for period in range(1, min(limit // 3, LONGEST_PERIOD) + 1):
        # the pattern must hold from `start` on and be seen at least three times
        differ = (bits ^ (bits >> period)) & ((1 << (limit - period + 1)) - 2)  # n in 1..limit-period
        mismatch = differ.bit_length() - 1 if differ else 0
        start = mismatch + 1
        if limit - start + 1 < 3 * period:
            continue
        if not bits >> start:
            continue
        if best is None or start < best[0]:
            best = (start, period)
        if start <= period:
            break  # nothing before the pattern: a longer period cannot explain more
    if best is None:
        return None
    start, period = best
    tail = [n for n in range(start, limit + 1) if n in members]
    start = tail[0]
    residues = tuple(sorted({n % period for n in tail}))
    extra = tuple(sorted(n for n in members if n < start))
    return Rule(_text(period, residues, start, extra), period, residues, start, extra)


def _text(period: int, residues: tuple[int, ...], start: int, extra: tuple[int, ...]) -> str:
    if period == 1:
        text = "every size" if start == 1 else f"every size from {start}"
    elif len(residues) == 1:
        r = residues[0]
        if r == 0:
            text = f"multiples of {period} from {start}"
        else:
            text = f"{period}k + {r} for k >= {(start - r) // period}"
    else:
        excluded = [r for r in range(period) if r not in residues]
        if len(excluded) < len(residues):
            text = f"every size from {start} except n = {_residues(excluded)} (mod {period})"
        else:
            text = f"n = {_residues(residues)} (mod {period}) from {start}"
    if extra:
        text += "; also " + (str(extra[0]) if len(extra) == 1 else _listing(list(extra)))
    return text


def _residues(values) -> str:
    values = list(values)
    return values and (", ".join(map(str, values[:-1])) + (" or " if len(values) > 1 else "") + str(values[-1]))


def _listing(values: list[int]) -> str:
    if len(values) == 1:
        return f"only {values[0]}"
    if len(values) <= 8:
        return ", ".join(map(str, values[:-1])) + f" and {values[-1]}"
    return ", ".join(map(str, values[:4])) + f", ... ({len(values)} sizes)"
