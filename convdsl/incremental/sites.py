"""Block instances (model.Site) of the old network, found and made anew for a new one (blockargs.py, recount.py).

A site is shared by the nodes made in it, and points at the site it was made in (`parent`): a site made anew
(other constants, another place, another input) makes every site inside it new too, and every node in any
of them needs its new site. The old network's sites are the state's, never changed.
"""

from __future__ import annotations

from dataclasses import replace


def instances(network, call_span) -> list[tuple[object, list[str]]] | None:
    """The block instances a call made (the sites whose call is at `call_span`), in the order they were made, each
    with its nodes in order; None where another instance of the call parts an instance's nodes (lowering makes
    one instance after another)."""
    found: dict[int, list[str]] = {}
    made: list[tuple[object, list[str]]] = []
    other = None  # the last site met that the call did not make (an instance's nodes come together: compared once)
    for name, data in network.layer_graph.nodes.items():
        site = data.site
        if site is None or site is other:
            continue
        if site.call_span != call_span:
            other = site
            continue
        nodes = found.get(id(site))
        if nodes is None:
            nodes = found[id(site)] = []
            made.append((site, nodes))
        elif nodes is not made[-1][1]:
            return None
        nodes.append(name)
    return made


class Resited:
    """The new site of each old one: `change(site)` gives the fields it changes (a dict, empty where none), or
    None where the site cannot be made anew; a site inside one made anew gets the new one as its `parent`.
    Once per site."""

    def __init__(self, change):
        self.change = change
        self.made: dict[int, object] = {}  # id(old site) -> its new site (itself where nothing changed)

    def __call__(self, site):
        """The new site of `site` (itself where nothing changed), or None."""
        made = self.made.get(id(site))
        if made is not None:
            return made
        # its ancestors first, without recursion (blocks nest as deep as --max-depth allows)
        chain = []
        while site is not None and id(site) not in self.made:
            chain.append(site)
            site = site.parent
        for old in reversed(chain):
            changes = self.change(old)
            if changes is None:
                return None
            if old.parent is not None and self.made[id(old.parent)] is not old.parent:
                changes = {**changes, "parent": self.made[id(old.parent)]}
            self.made[id(old)] = replace(old, **changes) if changes else old
        return self.made[id(chain[0])]
