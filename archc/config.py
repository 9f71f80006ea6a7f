"""Lint configuration: budgets, rule selection, `[tool.archc]` in pyproject.toml.

Resolution for one linted file, later wins:
  1. defaults;
  2. the `[tool.archc]` table of the nearest pyproject.toml that has one, found by walking up
     from the file's directory (from the working directory for stdin), as ruff does;
  3. every `[[tool.archc.overrides]]` entry whose `paths` globs match the file, in order;
  4. command-line options.
Inline pragmas (`# archc: ignore[CODE]`) are applied by `archc.lint` after all of this.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 without tomli has no config files
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]


class ConfigError(ValueError):
    """A bad option or configuration value: the CLI reports it as a usage error (exit 2)."""


_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kKmMgGtT]?)\s*$")


def parse_quantity(value: str | int | float, what: str = "value") -> float:
    """`30M` -> 30e6, `5G` -> 5e9, `1.5k` -> 1500 (decimal suffixes k/M/G/T); numbers pass."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a number like 30M, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _QUANTITY.match(str(value))
        if not match:
            raise ConfigError(f"{what}: expected a number with an optional k/M/G suffix "
                              f"(e.g. 30M), got {value!r}")
        number = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if number < 0:
        raise ConfigError(f"{what}: must not be negative, got {value!r}")
    return number


def parse_share(value: str | int | float, what: str = "fc-param-share") -> float:
    """A fraction in (0, 1]: `0.5`, `50%` or `50` (a number above 1 is read as a percentage)."""
    text = str(value).strip()
    try:
        number = float(text.removesuffix("%"))
    except ValueError:
        raise ConfigError(f"{what}: expected a fraction like 0.5 or 50%, got {value!r}") from None
    if text.endswith("%") or number > 1:
        number /= 100
    if not 0 < number <= 1:
        raise ConfigError(f"{what}: must be between 0 and 100%, got {value!r}")
    return number


@dataclass(frozen=True)
class LintConfig:
    """Everything that changes what `archc lint` reports for one file."""

    select: tuple[str, ...] | None = None  # None: the rules that are on by default
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_params: float | None = None
    max_macs: float | None = None
    max_activation_mib: float | None = None  # MiB (2**20 bytes), as `archc params` shows them
    max_layers: int | None = None  # the compiler's expansion cap (E301); None: its default
    fc_param_share: float = 0.5

    def enabled(self, code: str, default_enabled: bool) -> bool:
        """Ruff's rule: the most specific matching selector wins; on a tie, ignore wins."""
        chosen = self.select if self.select is not None else ()
        best_select = max((_specificity(s, code) for s in (*chosen, *self.extend_select)),
                          default=-1)
        if self.select is None and default_enabled:
            best_select = max(best_select, 0)
        best_ignore = max((_specificity(s, code) for s in self.ignore), default=-1)
        return best_select >= 0 and best_select > best_ignore


def _specificity(selector: str, code: str) -> int:
    """How closely `selector` (a code, a prefix of one, or ALL) names `code`; -1: it does not."""
    if selector == "ALL":
        return 0
    return len(selector) if code.startswith(selector) else -1


# ---- parsing option tables -----------------------------------------------------------------

_LIST_KEYS = {"select", "extend-select", "ignore"}
_QUANTITY_KEYS = {"max-params", "max-macs", "max-activation-mib", "max-activation-mb"}
_ATTRIBUTES = {"max-activation-mb": "max_activation_mib"}  # the old name of the key
_KEYS = _LIST_KEYS | _QUANTITY_KEYS | {"fc-param-share", "max-layers"}


def apply_options(config: LintConfig, options: Mapping[str, Any], known_codes: Iterable[str],
                  where: str) -> LintConfig:
    """`config` updated by a table of options (pyproject keys, kebab-case). `select` replaces
    the selection; `ignore` and `extend-select` add to what is already there."""
    unknown = sorted(set(options) - _KEYS - {"paths", "overrides"})
    if unknown:
        raise ConfigError(f"{where}: unknown option{'s' * (len(unknown) > 1)} "
                          f"{', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    codes = tuple(known_codes)
    changes: dict[str, Any] = {}
    for key, value in options.items():
        if key in _LIST_KEYS:
            selectors = parse_selectors(value, codes, f"{where}: {key}")
            if key == "select":
                changes["select"] = selectors
            else:
                attr = key.replace("-", "_")
                changes[attr] = (*changes.get(attr, getattr(config, attr)), *selectors)
        elif key in _QUANTITY_KEYS:
            attr = _ATTRIBUTES.get(key, key.replace("-", "_"))
            changes[attr] = parse_quantity(value, f"{where}: {key}")
        elif key == "max-layers":
            changes["max_layers"] = max(1, int(parse_quantity(value, f"{where}: {key}")))
        elif key == "fc-param-share":
            changes["fc_param_share"] = parse_share(value, f"{where}: {key}")
    return replace(config, **changes)


def parse_selectors(value: Any, known_codes: tuple[str, ...], where: str) -> tuple[str, ...]:
    """A list of codes or prefixes (or one comma-separated string); each must name a rule."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{where}: expected a list of rule codes, got {value!r}")
    selectors = tuple(item.strip().upper() for item in items if item.strip())
    for selector in selectors:
        if selector != "ALL" and not any(code.startswith(selector) for code in known_codes):
            raise ConfigError(f"{where}: {selector!r} matches no rule code "
                              "(see `archc lint --list-rules`)")
    return selectors


# ---- pyproject.toml discovery --------------------------------------------------------------

@dataclass(frozen=True)
class Project:
    """A `[tool.archc]` table and where it came from (its overrides' globs are relative to it)."""

    root: Path
    source: Path
    options: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()

    def resolve(self, path: Path, base: LintConfig, known_codes: tuple[str, ...]) -> LintConfig:
        config = apply_options(base, self.options, known_codes, f"{self.source} [tool.archc]")
        try:
            relative = Path(os.path.realpath(path)).relative_to(self.root).as_posix()
        except ValueError:  # outside the project: only the top-level table applies
            return config
        for index, (patterns, options) in enumerate(self.overrides):
            if any(glob_match(relative, pattern) for pattern in patterns):
                where = f"{self.source} [[tool.archc.overrides]] #{index + 1}"
                config = apply_options(config, options, known_codes, where)
        return config


def load_project(pyproject: Path) -> Project | None:
    """The `[tool.archc]` table of one pyproject.toml, or None when it has none."""
    if tomllib is None:
        return None
    try:
        from archc.fileio import read_bytes  # a regular file within the cap, like a spec

        data = tomllib.loads(read_bytes(pyproject).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from None
    table = data.get("tool", {}).get("archc")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.archc] must be a table")
    overrides = []
    for index, entry in enumerate(table.get("overrides", [])):
        paths = entry.get("paths") if isinstance(entry, dict) else None
        if isinstance(paths, str):
            paths = [paths]
        if not paths or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{pyproject}: [[tool.archc.overrides]] #{index + 1} needs "
                              "`paths = [\"glob\", ...]`")
        overrides.append((tuple(paths), {k: v for k, v in entry.items() if k != "paths"}))
    options = {k: v for k, v in table.items() if k != "overrides"}
    return Project(pyproject.parent.resolve(), pyproject, options, tuple(overrides))


@functools.lru_cache(maxsize=256)
def find_project(directory: Path) -> Project | None:
    """The nearest pyproject.toml with a `[tool.archc]` table at or above `directory`."""
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            project = load_project(candidate)
            if project is not None:
                return project
    return None


def glob_match(path: str, pattern: str) -> bool:
    """Match a relative POSIX path against a glob: `*` and `?` stay within one folder, `**`
    spans folders. A pattern without a slash matches the file name in any folder."""
    pattern = pattern.removeprefix("./")
    if "/" not in pattern:
        return _glob_regex(pattern).fullmatch(PurePosixPath(path).name) is not None
    return _glob_regex(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def resolve(path: str, command_line: Mapping[str, Any], known_codes: tuple[str, ...],
            config_file: str | None = None, isolated: bool = False) -> LintConfig:
    """The configuration for one linted file (`-` is stdin, configured from the working
    directory): defaults, then pyproject.toml with its overrides, then the command line."""
    file = Path.cwd() / "stdin.arch" if path == "-" else Path(path)
    project = None
    if config_file is not None:
        project = load_project(Path(config_file))
    elif not isolated:
        project = find_project(Path(os.path.realpath(file)).parent)  # never raises on loops
    config = LintConfig()
    if project is not None:
        config = project.resolve(file, config, known_codes)
        if config_file is None:
            config = within_ceiling(config)
    return apply_options(config, command_line, known_codes, "command line")


# The compiler's default caps (= archc.expand.Limits; kept here so that config stays light).
MAX_LAYERS_CEILING = 250_000


def within_ceiling(config: LintConfig) -> LintConfig:
    """A pyproject.toml found beside the specs belongs to the tree under review: it may lower
    the bomb protection, never lift it. Only the command line or a `--config` file (the CI's
    own configuration) raise a cap."""
    if config.max_layers is not None and config.max_layers > MAX_LAYERS_CEILING:
        return replace(config, max_layers=MAX_LAYERS_CEILING)
    return config
