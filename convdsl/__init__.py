"""convdsl: a compact language for neural-network architectures, and the tools
to check, summarise, draw and export them.

    >>> import convdsl
    >>> net = convdsl.loads("input x: 3 x 32 x 32\\ny = x -> conv(16, 3, p=1) -> relu")
    >>> analysis = net.analyze()
    >>> analysis.params
    448

The library never prints and never exits: problems are Diagnostic data.
"""

from .diagnostics import Code, Diagnostic, Severity
from .infer import analyze
from .loading import load, loads
from .model import Analysis, InputSpec, LayerInfo, Limits, Settings
from .network import Network
from .source import Source, Span

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Code",
    "Diagnostic",
    "InputSpec",
    "LayerInfo",
    "Limits",
    "Network",
    "Settings",
    "Severity",
    "Source",
    "Span",
    "__version__",
    "analyze",
    "load",
    "loads",
]
