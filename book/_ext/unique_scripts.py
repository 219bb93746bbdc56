"""Sphinx extension: include each script of a page once.

Sphinx 7.4 re-registers inline scripts with ``filename=''`` where they were first
registered with ``filename=None``, so they no longer compare equal and every page
includes them twice. The repeated ``const THEBE_JS_URL = ...`` (from sphinx-thebe) is
a JavaScript ``SyntaxError`` on every page. This drops such repeats before each page
is rendered.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or None, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the builder shares this list between pages


def setup(app):
    # Run before the themes' handlers (default priority 500), one of which returns a
    # template name and so ends the event.
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
