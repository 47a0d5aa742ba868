"""A Sphinx extension of the book: each script goes into a page once.

With jupyter-book 1.x on Sphinx 7.4, some extensions register their scripts again for every
document read (sphinx-thebe's `const THEBE_JS_URL`, sphinx-togglebutton's selector), and MathJax
is added both by `sphinx.ext.mathjax` and again for pages with math. A browser then reports
"Identifier 'THEBE_JS_URL' has already been declared" and MathJax's second copy fails ("Cannot
set property Package"). The page's script list is made unique just before it is written: the
first of each file (by path, without its `?v=` digest) or inline body is kept, in order.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple[str, str]:
    filename = getattr(script, "filename", script)
    body = getattr(script, "attributes", {}).get("body", "")
    return (str(filename or "").split("?")[0], str(body))


def unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for s in scripts:
        k = _key(s)
        if k not in seen:
            seen.add(k)
            kept.append(s)
    context["script_files"] = kept


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
