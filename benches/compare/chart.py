#!/usr/bin/env python3
"""Draws the ratios of one `cargo bench --bench compare` run as an SVG bar chart.

    python3 benches/compare/chart.py                     # target/compare/results.json
    python3 benches/compare/chart.py RESULTS.json OUT.svg

One panel per group (decode, encode, handshake, broadcast); in each, for every size, one
bar per rfc6455 line: its median ratio to the best peer at the same level (core to core,
async adapter to async adapters, blocking adapter to blocking adapters), with the spread
over rounds as a whisker. The line at 1.0 is parity: a bar above it is faster than every
peer. Plain SVG, no plotting library.
"""

import json
import os
import sys
from html import escape

HERE = os.path.dirname(os.path.abspath(__file__))
COLORS = {
    "rfc6455_core": "#4c78a8",
    "rfc6455_reader": "#9ecae9",
    "rfc6455_tokio": "#f58518",
    "rfc6455_tokio_prepared": "#e45756",
    "rfc6455_blocking": "#54a24b",
    "rfc6455_hyper": "#b279a2",
    "rfc6455_axum": "#9d755d",
    "rfc6455_axum_deflate": "#bab0ac",
}
LABELS = {
    "rfc6455_core": "core vs peers' cores",
    "rfc6455_reader": "MessageReader vs peers' cores",
    "rfc6455_tokio": "tokio adapter vs async peers",
    "rfc6455_tokio_prepared": "tokio, prepared frame (broadcast)",
    "rfc6455_blocking": "blocking adapter vs tungstenite",
    "rfc6455_hyper": "hyper upgrade vs fastwebsockets'",
    "rfc6455_axum": "axum extractor vs axum's",
    "rfc6455_axum_deflate": "axum extractor, deflate on",
}
ORDER = ["decode_binary", "decode_text_ascii", "decode_text_mixed", "encode_client",
         "encode_server", "handshake", "broadcast_10k"]
# Groups drawn in one panel: (panel, label of the group's bars).
PANELS = {"handshake": ("handshake", "stream"), "handshake_hyper": ("handshake", "hyper"),
          "handshake_axum": ("handshake", "axum")}


def size_label(s):
    try:
        n = int(s)
    except ValueError:
        return s
    if n >= 1 << 20:
        return f"{n >> 20} MiB"
    if n >= 1 << 10:
        return f"{n >> 10} KiB"
    return f"{n} B"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "target", "compare", "results.json")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "ratios.svg")
    rows = json.load(open(src))
    groups = {}
    for r in rows:
        if r["ratio"] is None or not r["line"].startswith("rfc6455"):
            continue
        panel, label = PANELS.get(r["group"], (r["group"], None))
        groups.setdefault(panel, {}).setdefault(label or r["size"], []).append(r)
    names = [g for g in ORDER if g in groups] + sorted(g for g in groups if g not in ORDER)
    lines_used = sorted({r["line"] for g in groups.values() for rs in g.values() for r in rs},
                        key=lambda n: list(COLORS).index(n) if n in COLORS else 99)

    bar, gap, group_gap = 11, 4, 26
    panel_h, left = 170, 52
    ymax = 4.0
    width = 960
    y_of = lambda v: top + panel_h - min(v, ymax) / ymax * panel_h  # noqa: E731
    svg = []
    # The legend, wrapped to the width: its rows decide where the panels start.
    legend, x, y = [], left, 34
    for name in lines_used:
        text = LABELS.get(name, name)
        w = 24 + 6.2 * len(text)
        if x + w > width - 20:
            x, y = left, y + 18
        legend.append((name, text, x, y))
        x += w
    top = y + 40
    height = top + len(names) * (panel_h + 70) + 40
    svg.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="sans-serif" font-size="11">')
    svg.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    svg.append(f'<text x="{left}" y="22" font-size="15" font-weight="bold">rfc6455 ÷ the fastest peer, '
               'same bytes, same run (median of interleaved rounds; whiskers: min–max)</text>')
    for name, text, x, y in legend:
        svg.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLORS.get(name, "#888")}"/>')
        svg.append(f'<text x="{x + 16}" y="{y + 10}">{escape(text)}</text>')
    for gi, group in enumerate(names):
        base = gi * (panel_h + 70)
        off = lambda y: y + base  # noqa: E731
        svg.append(f'<text x="{left}" y="{off(top - 6)}" font-weight="bold">{escape(group)}</text>')
        for v in (0, 1, 2, 3, 4):
            y = off(y_of(v))
            stroke = "#333" if v == 1 else "#ddd"
            svg.append(f'<line x1="{left}" x2="{width - 20}" y1="{y}" y2="{y}" stroke="{stroke}" '
                       f'stroke-width="{1.5 if v == 1 else 1}"/>')
            svg.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{v}×</text>')
        x = left + 10
        sizes = groups[group]
        order = ["stream", "hyper", "axum"]
        for size in sorted(sizes, key=lambda s: (0, int(s), "") if s.isdigit()
                            else (1, order.index(s) if s in order else 9, s)):
            rs = sorted(sizes[size], key=lambda r: list(COLORS).index(r["line"]) if r["line"] in COLORS else 99)
            start = x
            for r in rs:
                v = r["ratio"]
                y = off(y_of(v))
                h = off(top + panel_h) - y
                color = COLORS.get(r["line"], "#888")
                title = (f'{r["line"]} {size_label(size)}: {v:.2f}× the best {r["level"]} peer '
                         f'(rounds {r["ratio_min"]:.2f}–{r["ratio_max"]:.2f})')
                svg.append(f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{color}">'
                           f'<title>{escape(title)}</title></rect>')
                lo, hi = off(y_of(r["ratio_min"])), off(y_of(r["ratio_max"]))
                cx = x + bar / 2
                svg.append(f'<line x1="{cx}" x2="{cx}" y1="{lo}" y2="{hi}" stroke="#222"/>')
                if v > ymax:
                    svg.append(f'<text x="{cx}" y="{off(top) - 2}" text-anchor="middle" font-size="9">{v:.1f}</text>')
                x += bar + gap
            svg.append(f'<text x="{(start + x - gap) / 2}" y="{off(top + panel_h + 14)}" '
                       f'text-anchor="middle">{escape(size_label(size))}</text>')
            x += group_gap
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
