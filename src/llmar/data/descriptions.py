"""Class descriptions: one plain-language line per class name, written once per dataset in a YAML file.

``data.class_descriptions`` names such a file, or a packaged set (``nw_ucla``, ``florence3d``). The LLM's
answer and candidate-list templates (``llm.answer_template``, ``llm.choice_template``) and the
text-embedding baseline read them through ``{description}``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from llmar.data.dataset import DataError

_PACKAGED = resources.files("llmar.data") / "class_descriptions"


def packaged_sets() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in _PACKAGED.iterdir() if p.name.endswith(".yaml"))


def load_descriptions(spec: str) -> dict[str, str]:
    """{class name: description} from a YAML file or a packaged set's name."""
    source = _PACKAGED / f"{spec}.yaml" if spec in packaged_sets() else Path(spec)
    if not source.is_file():
        raise DataError(f"{spec}: class descriptions not found (a YAML file of 'class name: description' lines, "
                        f"or one of the packaged sets {packaged_sets()})")
    try:
        table = yaml.safe_load(source.read_text())
    except yaml.YAMLError as e:
        raise DataError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise DataError(f"{source}: expected 'class name: description' lines, each description non-empty text")
    return {str(k): v.strip() for k, v in table.items()}


def render(template: str, name: str, descriptions: dict[str, str], source: str | None) -> str:
    """``template`` with ``{name}`` and ``{description}`` filled in for one class."""
    if "{description}" not in template:
        return template.replace("{name}", name)
    if name not in descriptions:
        where = f" in {source}" if source else " (data.class_descriptions is not set)"
        raise DataError(f"no description for class {name!r}{where}; the template {template!r} needs one")
    return template.replace("{name}", name).replace("{description}", descriptions[name])


__all__ = ["load_descriptions", "packaged_sets", "render"]
