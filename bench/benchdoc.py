"""Shared by the bench/ scripts: docs/benchmarks.md is one page with one
section per script; each script replaces only its own section."""
import os

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(TOP, "docs", "benchmarks.md")


def write_section(heading, text):
    """Replace the section that starts with `heading` (up to the next
    '## ' heading) by `text`, or append it."""
    try:
        with open(DOC) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n"
    start = doc.find(heading)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + len(heading))
        doc = doc[:start] + text + ("\n" + doc[end + 1:] if end >= 0 else "")
    with open(DOC, "w") as f:
        f.write(doc.rstrip("\n") + "\n")
