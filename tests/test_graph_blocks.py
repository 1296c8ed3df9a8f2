"""The graph building blocks shared by the baseline and stage 1's graph encoder (llmar.nn.graph), and the
layering that keeps them shared: both model families import them, neither imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import llmar
from llmar.baseline.ctrgcn import CTRGCN, GCNConfig
from llmar.config import ProjectionConfig
from llmar.data.layout import KINECT20, NTU25, JointLayout, generic_layout
from llmar.nn.graph import TCNGCNUnit, graph_subsets, normalize_columns, stage_plan
from llmar.projection.encoders import ENCODERS, build_encoder
from llmar.projection.graph_encoder import GraphEncoder, encoder_stage_plan

# root 0 with children 1 and 2; 3 is a child of 1
TINY = JointLayout(name="tiny", joint_names=("r", "a", "b", "c"), parents=(-1, 0, 0, 1))
FLORENCE15 = generic_layout(15, parents=[-1, 0, 1, 1, 3, 4, 1, 6, 7, 0, 9, 10, 0, 12, 13])
PACKAGE = Path(llmar.__file__).parent


def test_tiny_graph_subsets_exact():
    a = graph_subsets(TINY, 3)
    np.testing.assert_array_equal(a[0], np.eye(4))
    # inward: target=parent row, source=child column; each child sends weight 1 to its parent
    inward = np.zeros((4, 4))
    inward[0, 1] = inward[0, 2] = inward[1, 3] = 1.0
    np.testing.assert_allclose(a[1], inward)
    # outward: parent 0 splits its weight over its two children, parent 1 has one child
    outward = np.zeros((4, 4))
    outward[1, 0] = outward[2, 0] = 0.5
    outward[3, 1] = 1.0
    np.testing.assert_allclose(a[2], outward)


@pytest.mark.parametrize("layout", [NTU25, KINECT20, FLORENCE15, generic_layout(7)], ids=lambda lay: lay.name)
def test_graph_subsets_follow_tree_and_are_normalised(layout):
    a = graph_subsets(layout, 3)
    v = layout.num_joints
    assert a.shape == (3, v, v) and a.dtype == np.float32
    np.testing.assert_array_equal(a[0], np.eye(v))
    inward, outward = a[1], a[2]
    assert (inward > 0).sum() == len(layout.bones) == (outward > 0).sum()
    for child, parent in layout.bones:
        assert inward[parent, child] > 0 and inward[child, parent] == 0  # child -> parent only
        assert outward[child, parent] > 0 and outward[parent, child] == 0  # parent -> child only
    has_children = np.zeros(v, bool)
    has_children[[p for _, p in layout.bones]] = True
    non_root = np.array([p >= 0 for p in layout.parents])
    np.testing.assert_allclose(inward.sum(0), non_root.astype(np.float32), atol=1e-6)
    np.testing.assert_allclose(outward.sum(0), has_children.astype(np.float32), atol=1e-6)


def test_single_subset_and_bad_subset_count():
    a = graph_subsets(TINY, 1)
    assert a.shape == (1, 4, 4)
    np.testing.assert_allclose(a[0].sum(0), np.ones(4), atol=1e-6)
    assert (a[0] > 0).sum() == 4 + 2 * 3  # self-loops plus both directions of 3 bones
    np.testing.assert_allclose(normalize_columns(np.zeros((2, 2))), 0.0)
    with pytest.raises(ValueError, match="num_subsets"):
        graph_subsets(TINY, 2)


def test_stage_plan_default_and_scaled():
    plan = stage_plan(10, 64)
    assert [c for c, _ in plan] == [64] * 4 + [128] * 3 + [256] * 3
    assert [i for i, (_, s) in enumerate(plan) if s == 2] == [4, 7]  # layers 5 and 8
    assert stage_plan(1, 8) == [(8, 1)]
    for n in range(3, 12):
        p = stage_plan(n, 8)
        assert len(p) == n and p[0] == (8, 1) and p[-1][0] == 32 and sum(s == 2 for _, s in p) == 2


@pytest.mark.parametrize("downsample", [1, 2, 4, 8, 16])
def test_encoder_plan_halves_time_only_while_it_divides_what_is_left(downsample):
    plan = encoder_stage_plan(8, downsample)
    assert [c for c, _ in plan] == [c for c, _ in stage_plan(10, 8)]  # the baseline's widths
    halvings = [s for _, s in plan if s == 2]
    assert 2 ** len(halvings) == min(downsample, 4)


def test_baseline_and_graph_encoder_are_built_from_the_same_layers():
    baseline = CTRGCN(5, KINECT20, config=GCNConfig(base_channels=8, num_stages=10))
    encoder = GraphEncoder(KINECT20, 3, ProjectionConfig(encoder="gcn", graph_width=8, temporal_downsample=4))
    assert all(type(layer) is TCNGCNUnit for layer in [*baseline.layers, *encoder.layers])
    # same stage plan, so the same parameter names and shapes layer for layer (state_dict keys of saved runs)
    shapes = [{k: v.shape for k, v in model.layers.state_dict().items()} for model in (baseline, encoder)]
    assert shapes[0] == shapes[1]


def test_every_registered_encoder_builds_and_an_unknown_name_is_a_key_error():
    for name in ENCODERS:
        cfg = ProjectionConfig(encoder=name, graph_width=8, code_dim=8, hidden_dim=16, part_tokens=False)
        assert build_encoder(NTU25, 3, cfg).tokens_per_step == 1
    cfg = ProjectionConfig()
    cfg.encoder = "bogus"  # set after construction: the config itself refuses it
    with pytest.raises(KeyError):
        build_encoder(NTU25, 3, cfg)
    assert ENCODERS["gcn"] is GraphEncoder


# -- layering ------------------------------------------------------------------------------------


def _llmar_imports(package: str) -> dict[str, list[tuple[str, bool]]]:
    """module file -> [(imported llmar module, imported inside a function)] for one subpackage."""
    found = {}
    for path in sorted((PACKAGE / package).glob("*.py")):
        tree = ast.parse(path.read_text())
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                  for n in ast.walk(f) if n is not f}
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llmar"):
                names.append((node.module, id(node) in nested))
            elif isinstance(node, ast.Import):
                names += [(a.name, id(node) in nested) for a in node.names if a.name.startswith("llmar")]
        found[path.name] = names
    return found


def test_graph_blocks_depend_only_on_the_data_layer():
    for module, names in _llmar_imports("nn").items():
        assert all(name.startswith("llmar.data") for name, _ in names), (module, names)


@pytest.mark.parametrize("package,other", [("projection", "baseline"), ("baseline", "projection")])
def test_the_model_families_do_not_import_each_other_nor_dodge_a_cycle(package, other):
    for module, names in _llmar_imports(package).items():
        assert not [n for n, _ in names if n.startswith(f"llmar.{other}")], (module, names)
        assert not [n for n, local in names if local], f"{module}: llmar import inside a function: {names}"
