#!/usr/bin/python3
"""Checks that an exported HTML page is inert: parsed with Python's own html.parser (as a
browser tokenises it), it must hold no element that runs or loads anything and no
attribute that could.

Fails (exit 1, one line per problem) on: <script>, <iframe>, <frame>, <object>, <embed>,
<applet>, <base>, <link>, <form>, <meta http-equiv> other than a Content-Security-Policy,
any on* event attribute, any href / src / xlink:href / action / formaction / srcset /
poster / background other than "#..." or a data:image/(png|jpeg|gif|webp) URI, any
http(s):, //, javascript:, vbscript: or url(...) other than url(#...) in an attribute or
in CSS, @import in CSS, and an unbalanced document (a <style> never closed swallows the
rest). With --qt, src="es-heatmap:N" (the PDF renderer's own images) is allowed too.

Usage: check_html_inert.py [--qt] FILE.html
"""
import html.parser
import re
import sys

FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet",
                  "base", "link", "form", "portal", "noscript", "template"}
URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction", "srcset", "poster",
             "background", "data", "codebase", "cite", "longdesc", "ping"}
SAFE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]*$")
BAD_TEXT = re.compile(r"(https?:|javascript:|vbscript:|(^|[\s('\"])//|@import|expression\s*\()",
                      re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^)'\"]*)\1\s*\)", re.IGNORECASE)


class Checker(html.parser.HTMLParser):
    def __init__(self, allow_qt):
        super().__init__(convert_charrefs=True)
        self.allow_qt = allow_qt
        self.problems = []
        self.in_style = False
        self.style_open = 0

    def problem(self, what):
        line, col = self.getpos()
        self.problems.append(f"line {line}, column {col}: {what}")

    def check_css(self, css, where):
        if BAD_TEXT.search(css):
            self.problem(f"{where}: network or script reference in CSS: {css[:80]!r}")
        for m in CSS_URL.finditer(css):
            if not m.group(2).startswith("#"):
                self.problem(f"{where}: url() to {m.group(2)[:60]!r}")

    def handle_starttag(self, tag, attrs):
        self.check_tag(tag, attrs)
        if tag == "style":
            self.in_style = True
            self.style_open += 1

    def handle_startendtag(self, tag, attrs):
        self.check_tag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
            self.style_open -= 1

    def check_tag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problem(f"<{tag}> element")
        names = {}
        for name, value in attrs:
            names[name] = value or ""
        if tag == "meta" and "http-equiv" in names:
            if names["http-equiv"].lower() != "content-security-policy":
                self.problem(f"<meta http-equiv={names['http-equiv']!r}>")
            return  # the policy's own text names 'none', data: and 'unsafe-inline'
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problem(f"<{tag} {name}=...> event handler attribute")
            if name in URL_ATTRS:
                ok = value.startswith("#") or SAFE_DATA.match(value) is not None
                if self.allow_qt and name == "src" and re.fullmatch(r"es-heatmap:\d+", value):
                    ok = True
                if not ok:
                    self.problem(f"<{tag} {name}={value[:60]!r}>")
            elif name == "style":
                self.check_css(value, f"<{tag} style>")
            elif BAD_TEXT.search(value):
                self.problem(f"<{tag} {name}={value[:60]!r}> holds a URL or script scheme")

    def handle_data(self, data):
        if self.in_style:
            self.check_css(data, "<style>")

    def handle_pi(self, data):
        self.problem("processing instruction")


def main(argv):
    allow_qt = "--qt" in argv
    files = [a for a in argv[1:] if a != "--qt"]
    if len(files) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(files[0], encoding="utf-8", errors="strict") as f:
        text = f.read()
    checker = Checker(allow_qt)
    checker.feed(text)
    checker.close()
    if checker.style_open != 0:
        checker.problem("a <style> element is not closed")
    for p in checker.problems:
        print(f"{files[0]}: {p}")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
