"""The network's places (its top level and each block instance) and what each made, in order.

Lowering records on every layer node the Site it was made in. This index
turns that around: for a place and a call in its definition, the layers (or
block instances) the call made there, in the order they were made, which is
the order a walk over the definition meets them (repeats included).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..model import Site


@dataclass(eq=False)
class Place:
    site: Site
    nodes: dict = field(default_factory=lambda: defaultdict(list))  # call span -> layer nodes
    children: dict = field(default_factory=lambda: defaultdict(list))  # call span -> block instances (Site)

    @property
    def prefix(self) -> str:
        return self.site.prefix


def layer_graph(network):
    """The network's graph as lowering made it (convdsl's LayerGraph), without converting it to networkx."""
    graph = getattr(network, "layer_graph", None)
    return graph if graph is not None else network.graph


class SiteIndex:
    def __init__(self, graph):
        self.places: dict[int, Place] = {}
        self.root: Site | None = None
        for node, data in graph.nodes.items():
            site = data.site
            if data.kind in ("input", "output") or site is None:
                continue
            chain = []
            while site is not None and id(site) not in self.places:
                chain.append(site)
                site = site.parent
            for new in reversed(chain):  # outermost first, so a parent is known before its children
                self.places[id(new)] = Place(new)
                if new.parent is None:
                    self.root = new
                else:
                    self.places[id(new.parent)].children[new.call_span].append(new)
            self.places[id(data.site)].nodes[data.span].append(node)

    def add_root(self, site: Site) -> None:
        """A top level for a network whose layers have no site (export/flat.py): its steps name their nodes."""
        self.places[id(site)] = Place(site)
        self.root = site

    def place(self, site: Site) -> Place:
        return self.places[id(site)]

    def sites(self):
        return [place.site for place in self.places.values()]

    def members(self, site: Site) -> list[str]:
        """Every layer made in a place, in places nested in it too."""
        if not hasattr(self, "_members"):
            self._members = defaultdict(list)
            for place in self.places.values():
                nodes = [n for made in place.nodes.values() for n in made]
                site_ = place.site
                while site_ is not None:
                    self._members[id(site_)].extend(nodes)
                    site_ = site_.parent
        return self._members[id(site)]

    def output_shape(self, site: Site, analysis):
        """The shape of what a block instance gives back: the one tensor that leaves it."""
        return self.leaving_shape(self.members(site), analysis)

    def leaving_shape(self, nodes, analysis):
        """The shape of the tensor that leaves a set of layers (a block instance, a labelled group)."""
        inside = set(nodes)
        graph = layer_graph(analysis.network)
        for node in nodes:
            for successor in graph.successors(node):
                if successor in inside:
                    continue
                for source, _, data in graph.in_edges(successor, data=True):
                    if source == node:
                        return analysis.shapes.get((node, data["src_port"]))
        return None
