"""`python -m archc.lint --write-docs`: print docs/lint-rules.md from the rule registry."""

import sys

from archc.lint.ruleset import write_docs

if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if sys.argv[1:] == ["--write-docs"]:
        print(write_docs())
    else:
        sys.exit("usage: python -m archc.lint --write-docs")
