"""What a format module returns: the .cdsl text, where each of its lines came from, and the format's own findings.

A foreign file is loaded by translating it, loading the text through the normal loader, and mapping
every diagnostic's span back to the foreign file (`ImportedNetwork`), so the analysis never knows
about foreign formats.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..network import Network
from ..source import Source, Span


@dataclass(frozen=True)
class Translation:
    """A foreign file as .cdsl text.

    origins[i] is the span in the foreign file that line i + 1 of `text` was written for (a YAML row,
    a cfg section, a prototxt layer); diagnostics are the format's own (a `from` index out of range,
    a route to a missing layer), with spans in the foreign file.
    """

    format: str  # "ultralytics" | "darknet" | "caffe" | ...
    source: Source  # the foreign file
    text: str
    origins: tuple[Span | None, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def cdsl_path(self) -> str:
        """The name the generated text goes by while it is checked (never written there)."""
        return self.source.path + ".cdsl"

    def origin(self, line: int) -> Span | None:
        """The foreign span behind a generated line (1-based)."""
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return None


def map_span(translation: Translation, span: Span | None) -> Span | None:
    """A span of the generated text as the foreign span it was written for; other spans as they are."""
    if span is None or span.path != translation.cdsl_path:
        return span
    origin = translation.origin(span.line)
    if origin is None:
        return Span(translation.source.path, 1, 1, 1, 1)
    return origin


def _instance_call(network, diag: Diagnostic) -> Span | None:
    """Where the outermost block instance holding the diagnostic's layer is called (a layer in a block has
    its span in the block's definition, which all instances share; the call is the foreign row)."""
    if network is None:
        return None
    for note in diag.notes:
        if note.startswith("in layer `") and note.endswith("`"):
            node = network.layer_graph.nodes.get(note[len("in layer `") : -1])
            site = getattr(node, "site", None) if node is not None else None
            call = None
            while site is not None:
                if site.call_span is not None:
                    call = site.call_span
                site = site.parent
            return call
    return None


def map_diagnostic(translation: Translation, diag: Diagnostic, network=None) -> Diagnostic:
    """The diagnostic at the foreign file's line and column.

    Its fixes edit the generated text, which the user does not have: they become words in the help
    (each was checked on the generated text), and the note says which layer of the translation it is.
    """
    if diag.span is None or diag.span.path != translation.cdsl_path:
        return diag
    help_text = diag.help_text
    if diag.fixes:
        help_text = f"in the imported .cdsl (`convdsl import`): {help_text}"
    where = _instance_call(network, diag) or diag.span
    generated = translation.text.split("\n")[where.line - 1 : where.line]
    notes = diag.notes
    if generated and generated[0].strip():
        notes = (*notes, f"in the translation: {generated[0].strip()}")
    return dataclasses.replace(diag, span=map_span(translation, where), help=help_text, fixes=(), notes=notes)


@dataclass
class ImportedNetwork(Network):
    """A network loaded from a foreign file: every diagnostic it reports points into that file."""

    translation: Translation | None = field(default=None, repr=False, compare=False)

    def analyze(self, *, strict: bool = False):
        analysis = super().analyze(strict=strict)
        if self.translation is not None:
            mapped = tuple(map_diagnostic(self.translation, d, self) for d in analysis.diagnostics)
            analysis.diagnostics = tuple(sorted(mapped, key=Diagnostic.sort_key))
        return analysis


def _rebuild_generated(rebuild, cdsl_path: str):
    def again(network, texts, **kwargs):
        return rebuild(SimpleNamespace(path=cdsl_path, sources=network.sources), texts, **kwargs)

    return again


def imported(network: Network, translation: Translation) -> ImportedNetwork:
    """The loaded translation as an ImportedNetwork: lowering's diagnostics mapped, the format's own added."""
    mapped = [map_diagnostic(translation, d, network) for d in network.diagnostics]
    diagnostics = tuple(sorted((*translation.diagnostics, *mapped), key=Diagnostic.sort_key))
    sources = dict(network.sources)
    sources[translation.source.path] = translation.source
    fields = {f.name: getattr(network, f.name) for f in dataclasses.fields(Network)}
    # the network goes by the foreign file's name; a fix is still tried on the generated text (fixcheck.py)
    fields.update(diagnostics=diagnostics, sources=sources, path=translation.source.path)
    if network.rebuild is not None:
        fields["rebuild"] = _rebuild_generated(network.rebuild, translation.cdsl_path)
    result = ImportedNetwork(**fields, translation=translation)
    result.__dict__.update({k: v for k, v in network.__dict__.items() if k not in result.__dict__})
    return result
