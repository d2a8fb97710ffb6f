#!/usr/bin/env python3
"""check_bench_report.py: checks what `ipcx bench --report DIR` writes (docs/bench.md). It checks
that the page renders, never speed: the run exits 0; index.html parses and references only files
that exist in DIR (no network, no absolute paths); every SVG it links is non-empty and looks like
SVG; gnuplot's status on the page is success (every chart drawn, each also inline in the page);
results.json and results.csv are there; the analysis, recommendation and fairness sections are
present. Broken copies of the report (an SVG missing or empty, gnuplot failed, an external
link) must be rejected. A second run with gnuplot hidden from PATH must still exit 0, say that
gnuplot is missing and keep its tables.

Usage:
  check_bench_report.py --ipcx PATH --mechanisms LIST --sizes LIST

Exit status: 0 valid, 1 invalid (every problem is listed), 2 usage or the run itself failed.
"""

import argparse
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

CHARTS = ["latency_percentiles", "latency_vs_size", "throughput_vs_size", "cpu_per_message"]


class Page(html.parser.HTMLParser):
    """Collects every href/src outside inline SVGs, the inline SVGs and the gnuplot status."""

    def __init__(self):
        super().__init__()
        self.refs = []
        self.inline_svgs = 0
        self.svg_depth = 0
        self.status = None
        self.ids = set()
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            if self.svg_depth == 0:
                self.inline_svgs += 1
            self.svg_depth += 1
        if "id" in a and self.svg_depth == 0:
            self.ids.add(a["id"])
        if a.get("id") == "gnuplot-status":
            self.status = a.get("data-status")
        for k in ("href", "src", "xlink:href"):
            if k in a and a[k] is not None:
                self.refs.append((tag, k, a[k], self.svg_depth > 0))
        if tag == "link" or (tag == "script" and "src" in a):
            self.refs.append((tag, "external", a.get("href") or a.get("src"), False))

    def handle_endtag(self, tag):
        if tag == "svg" and self.svg_depth > 0:
            self.svg_depth -= 1

    def handle_data(self, data):
        if self.svg_depth == 0:
            self.text.append(data)


def run_bench(args, out, env=None):
    cmd = [args.ipcx, "bench", "--quick", "--mechanisms", args.mechanisms, "--sizes", args.sizes,
           "--report", out]
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=240, env=env)
    print(p.stdout[-3000:])
    return p.returncode


def check_page(out, want_gnuplot, problems):
    def fail(what):
        problems.append(f"{out}: {what}")

    index = os.path.join(out, "index.html")
    if not os.path.isfile(index):
        fail("no index.html")
        return
    text = open(index, encoding="utf-8").read()
    page = Page()
    page.feed(text)
    page.close()
    words = " ".join(page.text)
    for ref_tag, key, ref, in_svg in page.refs:
        if key == "external":
            fail(f"<{ref_tag}> loads an external resource: {ref}")
            continue
        if ref.startswith("#"):
            if not in_svg and ref[1:] not in page.ids:
                fail(f"link to a missing anchor {ref}")
            continue
        if "://" in ref or ref.startswith("/") or ref.startswith("data:") or ".." in ref:
            fail(f"<{ref_tag} {key}> leaves the report directory: {ref}")
            continue
        path = os.path.join(out, ref)
        if not os.path.isfile(path):
            fail(f"<{ref_tag} {key}> references {ref}, which does not exist")
        if ref.endswith(".svg"):
            data = open(path, "rb").read() if os.path.isfile(path) else b""
            if not data:
                fail(f"{ref} is empty")
            elif not (data.lstrip().startswith(b"<?xml") or data.lstrip().startswith(b"<svg")):
                fail(f"{ref} does not start with <?xml or <svg")
            elif b"</svg>" not in data:
                fail(f"{ref} has no closing </svg>")
    linked = {r[2] for r in page.refs}
    for f in ("results.json", "results.csv"):
        if not os.path.isfile(os.path.join(out, f)) or os.path.getsize(os.path.join(out, f)) == 0:
            fail(f"{f} is missing or empty")
        if f not in linked:
            fail(f"the page does not link {f}")
    try:
        doc = json.load(open(os.path.join(out, "results.json"), encoding="utf-8"))
        if doc.get("schema") != "ipcx-bench/1":
            fail("results.json has the wrong schema")
    except (OSError, ValueError) as e:
        fail(f"results.json does not parse: {e}")
    for section in ("analysis", "fairness", "tables", "charts", "run"):
        if section not in page.ids:
            fail(f"no section id={section}")
    for phrase in ("Fastest mechanism", "Recommendation", "Where blocking costs most",
                   "against its baseline", "placement", "machine"):
        if phrase not in words:
            fail(f"the page does not say '{phrase}'")
    if want_gnuplot:
        if page.status != "ok":
            fail(f"gnuplot status is {page.status!r}, not ok")
        for c in CHARTS:
            if f"{c}.svg" not in linked:
                fail(f"chart {c}.svg is not on the page")
        if page.inline_svgs != len(CHARTS):
            fail(f"{page.inline_svgs} inline SVGs, expected {len(CHARTS)}")
    else:
        if page.status != "missing":
            fail(f"gnuplot hidden: status is {page.status!r}, not missing")
        if "gnuplot is not installed" not in words:
            fail("gnuplot hidden: the page does not say gnuplot is missing")
        if page.inline_svgs != 0:
            fail("gnuplot hidden: the page still has inline SVGs")
        if "<table" not in text:
            fail("gnuplot hidden: the page has no tables")


def rewrite(d, old, new):
    path = os.path.join(d, "index.html")
    text = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(text.replace(old, new, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ipcx", required=True)
    ap.add_argument("--mechanisms", required=True)
    ap.add_argument("--sizes", required=True)
    args = ap.parse_args()
    if shutil.which("gnuplot") is None:
        print("check_bench_report: gnuplot is not installed (scripts/deps.sh installs "
              "gnuplot-nox); the report test needs it", file=sys.stderr)
        return 2
    problems = []
    with tempfile.TemporaryDirectory(prefix="ipcx-bench-report-") as tmp:
        out = os.path.join(tmp, "report")
        rc = run_bench(args, out)
        if rc != 0:
            print(f"check_bench_report: the run exited {rc}", file=sys.stderr)
            return 2
        check_page(out, True, problems)
        # Broken copies must be rejected, so that a checker that accepts anything fails.
        breakers = [
            ("a missing svg", lambda d: os.remove(os.path.join(d, CHARTS[0] + ".svg"))),
            ("an empty svg", lambda d: open(os.path.join(d, CHARTS[1] + ".svg"), "w").close()),
            ("gnuplot failed", lambda d: rewrite(d, 'data-status="ok"', 'data-status="failed"')),
            ("an external stylesheet", lambda d: rewrite(
                d, "</head>", '<link rel="stylesheet" href="https://example.org/x.css"></head>')),
        ]
        for name, breaks in breakers:
            bad = os.path.join(tmp, "broken")
            shutil.copytree(out, bad)
            breaks(bad)
            found = []
            check_page(bad, True, found)
            if not found:
                problems.append(f"a copy with {name} was accepted")
            shutil.rmtree(bad)
        # The same with gnuplot out of reach: the page must say so and keep its tables.
        empty = os.path.join(tmp, "empty-path")
        os.mkdir(empty)
        env = dict(os.environ, PATH=empty)
        out2 = os.path.join(tmp, "report-no-gnuplot")
        rc = run_bench(args, out2, env)
        if rc != 0:
            print(f"check_bench_report: the run without gnuplot exited {rc}", file=sys.stderr)
            return 2
        check_page(out2, False, problems)
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print("check_bench_report: ok (page, charts, links, gnuplot status, fallback without gnuplot)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
