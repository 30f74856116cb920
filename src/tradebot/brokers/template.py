"""Rendering the plugin template (``tradebot/templates/plugin``) into a new distribution ``tradebot-NAME``.

Files end in ``.tmpl`` (so no tool mistakes them for code); ``NAME`` in a path and ``{{name}}``,
``{{Name}}`` and ``{{tradebot_version}}`` in a file are replaced.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from tradebot import __version__

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
RESERVED = frozenset({"sim", "tradebot", "test", "tests"})


class TemplateError(ValueError):
    pass


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise TemplateError(
            f"plugin name {name!r} must be 2-31 characters of lowercase letters, digits and underscores, "
            "starting with a letter (it becomes the module tradebot_<name> and the [broker.<name>] table)"
        )
    if name in RESERVED:
        raise TemplateError(f"plugin name {name!r} is reserved")


def class_prefix(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _walk(node: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Traversable]]:
    found: list[tuple[tuple[str, ...], Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        if child.is_dir():
            found.extend(_walk(child, (*prefix, child.name)))
        elif child.name.endswith(".tmpl"):
            found.append(((*prefix, child.name.removesuffix(".tmpl")), child))
    return found


def render_plugin(name: str, directory: Path) -> Path:
    """Write ``directory/tradebot-<name>`` from the template; returns it. Refuses to overwrite."""
    check_name(name)
    target = directory / f"tradebot-{name}"
    if target.exists():
        raise TemplateError(f"{target} already exists: choose another name or --dir")
    replacements = {"{{name}}": name, "{{Name}}": class_prefix(name), "{{tradebot_version}}": __version__}
    root = resources.files("tradebot") / "templates" / "plugin"
    files = _walk(root)
    if not files:
        raise TemplateError(f"the plugin template is missing from the tradebot installation ({root})")
    for parts, source in files:
        path = target.joinpath(*(part.replace("NAME", name) for part in parts))
        text = source.read_text(encoding="utf-8")
        for token, value in replacements.items():
            text = text.replace(token, value)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
