"""Self-contained HTML pages: inline CSS, tables, images as ``data:`` URIs, and a render probe.

A page opens nothing over the network: it can be attached to a CI run, mailed, or opened from disk. The probe is
a tiny inline script for headless tests: after ``load`` it sets ``document.body.dataset.rendered`` to ``"ok"``
when every ``<img>`` decoded (``naturalWidth > 0``), ``"broken"`` otherwise, and ``window.onerror`` sets it to
``"error"`` when any script failed. ``chromium --headless --dump-dom`` then shows ``data-rendered="ok"``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RENDER_PROBE", "data_uri", "escape", "page", "table"]

escape = html.escape

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2328; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #d0d7de; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.regression { background: #ffebe9; font-weight: 600; } tr.improvement { background: #dafbe1; }
tr.new, tr.missing { background: #fff8c5; }
.verdict-regression { color: #cf222e; } .verdict-improvement { color: #1a7f37; }
.summary { font-size: 1.05rem; } .fail { color: #cf222e; font-weight: 700; } .pass { color: #1a7f37; font-weight: 700; }
img { max-width: 100%; border: 1px solid #d0d7de; }
code { background: #f6f8fa; padding: 0 0.2rem; }
"""

#: The render probe (see the module docstring); the first thing in ``<body>`` so it sees every error.
RENDER_PROBE = """<script>
window.onerror = function () { document.body.dataset.rendered = "error"; };
window.addEventListener("load", function () {
  if (document.body.dataset.rendered === "error") { return; }
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.every(function (img) { return img.complete && img.naturalWidth > 0; });
  document.body.dataset.rendered = decoded ? "ok" : "broken";
});
</script>"""


def data_uri(path: str | Path, mime: str = "image/png") -> str:
    """``data:image/png;base64,...`` of a file."""
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    row_classes: Sequence[str] | None = None,
    numeric: Sequence[int] = (),
    table_id: str | None = None,
) -> str:
    """An HTML table; cells are text (escaped here). ``numeric``: column indexes aligned right."""
    ident = f' id="{escape(table_id)}"' if table_id else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        klass = f' class="{escape(row_classes[i])}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{escape(c)}</td>' if j in numeric else f"<td>{escape(c)}</td>" for j, c in enumerate(row)
        )
        body.append(f"<tr{klass}>{cells}</tr>")
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str) -> str:
    """A whole HTML document: inline CSS, the render probe, then ``body`` (already HTML)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{RENDER_PROBE}\n{body}\n</body></html>\n"
    )
