"""Python names for convdsl names (convdsl/export/names.py), against Python and PyTorch themselves:
what `self.name = ...` really stores (name mangling), what the keyword module calls a keyword, which
names nn.Module refuses as a child."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import require
from convdsl.export.names import (
    MODULE_ATTRIBUTES,
    Namespace,
    attribute_syntax,
    class_name,
    is_dunder,
    module_name,
    module_path,
)

torch = require("torch")

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# identifiers made of the pieces that matter: underscores around words, keywords, Module's attributes
pieces = st.sampled_from(["_", "__", "a", "x1", "forward", "training", "class", "to", "stem", "T_destination"])
identifiers = st.lists(pieces, min_size=1, max_size=4).map("".join).filter(str.isidentifier)


def stored_as(name: str) -> str | None:
    """The attribute `self.<name> = 1` really sets inside a class (None: not valid Python)."""
    try:
        namespace = {}
        exec(f"class Owner:\n    def set(self):\n        self.{name} = 1\n", namespace)
    except SyntaxError:
        return None
    owner = namespace["Owner"]()
    owner.set()
    (key,) = vars(owner)
    return key


@PROPERTY
@given(identifiers)
def test_attribute_syntax_is_true_exactly_when_python_stores_the_name_as_written(name):
    assert attribute_syntax(name) == (stored_as(name) == name)


@pytest.mark.parametrize("name", ["__stem", "__x_", "class", "None", "a b", "1a", "é"])
def test_attribute_syntax_by_hand(name):
    assert attribute_syntax(name) == (name == "é")  # `self.é` is a valid attribute; the others are not


def test_is_dunder():
    assert is_dunder("__init__") and is_dunder("__x__")
    assert not is_dunder("____") and not is_dunder("__x") and not is_dunder("x__") and not is_dunder("_x_")


@PROPERTY
@given(st.lists(identifiers, min_size=1, max_size=6, unique=True))
def test_module_names_are_accepted_by_torch_and_never_meet(names):
    """Every name becomes a child nn.Module accepts, found again under that name; two names never meet."""
    parent = torch.nn.Module()
    chosen = [module_name(n) for n in names]
    assert len(set(chosen)) == len(chosen)
    for name in chosen:
        assert name not in dir(torch.nn.Module) and name not in dir(torch.nn.Sequential)
        parent.add_module(name, torch.nn.Identity())
    assert [n for n, _ in parent.named_children()] == chosen


@pytest.mark.parametrize(
    "name,expected",
    [
        ("conv1", "conv1"),
        ("forward", "forward_"),
        ("forward_", "forward__"),  # so that it cannot meet `forward`'s name
        ("training", "training_"),
        ("__init__", "__init___"),
        ("__stem", "__stem"),  # a child's name, not an attribute: add_module takes it as it is
        ("to__", "to___"),
    ],
)
def test_module_name_by_hand(name, expected):
    assert module_name(name) == expected


def test_module_path_names_each_part():
    assert module_path("layer1.0.forward") == "layer1.0.forward_"
    assert module_path("stem") == "stem"


def test_module_attributes_are_torchs():
    """Every name listed is an attribute of a fresh nn.Module, nn.Sequential or nn.ModuleDict."""
    have = set(dir(torch.nn.Module())) | set(dir(torch.nn.Sequential())) | set(dir(torch.nn.ModuleDict()))
    assert have >= MODULE_ATTRIBUTES


@pytest.mark.parametrize(
    "name,expected",
    [
        ("se_fc", "SeFc"),
        ("resnet50", "Resnet50"),
        ("50layers", "Net50layers"),
        ("my-net.v2", "MyNetV2"),
        ("", "Network"),
        ("日本", "Network"),
        ("a__b", "AB"),
        ("vgg", "Vgg"),
    ],
)
def test_class_name(name, expected):
    assert class_name(name) == expected


@PROPERTY
@given(st.lists(st.one_of(identifiers, st.sampled_from(["9lives", "0", "__import__", "__k", "lambda"])), max_size=8))
def test_namespace_claims_usable_distinct_names(wanted):
    """(convdsl names are identifiers, or numbers where a repeat numbers its copies.) Each claim is an identifier, no keyword, no dunder, not mangled in a class (usable as a keyword
    argument anywhere), distinct from every other and from the reserved ones; a name that is all of that
    already is kept."""
    space = Namespace({"torch", "nn"})
    claimed = []
    for name in wanted:
        got = space.claim(name)
        assert got.isidentifier() and not keyword.iskeyword(got), got
        assert stored_as(got) == got, got
        assert not is_dunder(got) or set(got) == {"_"}, got  # `_____` names nothing of Python's
        assert got not in claimed and got not in ("torch", "nn")
        fine = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
        if fine and name not in claimed and name not in ("torch", "nn"):
            assert got == name
        claimed.append(got)


def test_namespace_by_hand():
    space = Namespace({"x"})
    assert space.claim("x") == "x_"
    assert space.claim("x") == "x__"
    assert space.claim("class") == "class_"
    assert space.claim("__k") == "k_"
    assert space.claim("__import__") == "import_"
    assert space.claim("9a") == "_9a"
    assert space.claim("__9") == "_9_"
    space.reserve("y")
    assert space.claim("y") == "y_"
