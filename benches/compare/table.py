#!/usr/bin/env python3
"""Prints one `cargo bench --bench compare` run as Markdown tables of ratios.

    python3 benches/compare/table.py                     # target/compare/results.json
    python3 benches/compare/table.py RESULTS.json

Two tables, like with like: adapter vs adapter (rfc6455's tokio adapter over the best
async peer, its blocking adapter over the best blocking peer) and core vs core (rfc6455's
Connection and MessageReader over the best peer core). Each cell is the median over the
run's rounds of the ratio within a round (above 1: rfc6455 is faster); where the group
has a copy+unmask floor, the tokio adapter's share of it follows in a third table. Then
every line's throughput, for reference.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GROUPS = (
    "decode_binary",
    "decode_text_ascii",
    "decode_text_mixed",
    "encode_client",
    "encode_server",
    "handshake",
    "handshake_hyper",
    "handshake_axum",
    "broadcast_10k",
)


def size_label(size):
    try:
        n = int(size)
    except ValueError:
        return size
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return f"{n} B"


def load(path):
    with open(path) as f:
        rows = json.load(f)
    by_group = {}
    for r in rows:
        by_group.setdefault(r["group"], {}).setdefault(r["size"], []).append(r)
    return by_group


def sizes_of(group_rows):
    def key(s):
        try:
            return (0, int(s))
        except ValueError:
            return (1, s)

    return sorted(group_rows, key=key)


def fmt_ratio(r):
    if r is None or r.get("ratio") is None:
        return "–"
    lo, hi = r.get("ratio_min"), r.get("ratio_max")
    if lo is not None and hi is not None and hi - lo > 0.15 * r["ratio"]:
        return f"{r['ratio']:.2f} ({lo:.2f}–{hi:.2f})"
    return f"{r['ratio']:.2f}"


def ratio_table(by_group, title, lines):
    cols = [name for name, _ in lines]
    print(f"### {title}\n")
    print("| workload | size | " + " | ".join(label for _, label in lines) + " |")
    print("|---|---|" + "---|" * len(lines))
    for group in GROUPS:
        if group not in by_group:
            continue
        for size in sizes_of(by_group[group]):
            rows = {r["line"]: r for r in by_group[group][size]}
            if not any(c in rows for c in cols):
                continue
            cells = [fmt_ratio(rows.get(c)) for c in cols]
            print(f"| {group} | {size_label(size)} | " + " | ".join(cells) + " |")
    print()


def floor_table(by_group):
    print("### Share of the copy+unmask floor (1.00 = as fast as copying the bytes)\n")
    print("| workload | size | tokio adapter | blocking adapter | MessageReader | core |")
    print("|---|---|---|---|---|---|")
    for group in GROUPS:
        for size in sizes_of(by_group.get(group, {})):
            rows = {r["line"]: r for r in by_group[group][size]}
            if not any(r.get("vs_floor") for r in rows.values()):
                continue
            cells = []
            for name in ("rfc6455_tokio", "rfc6455_blocking", "rfc6455_reader", "rfc6455_core"):
                v = rows.get(name, {}).get("vs_floor")
                cells.append("–" if v is None else f"{v:.2f}")
            print(f"| {group} | {size_label(size)} | " + " | ".join(cells) + " |")
    print()


def throughput_table(by_group):
    print("### Throughput of every line (messages/s, GiB/s of wire bytes)\n")
    print("| workload | size | line | level | msgs/s | GiB/s |")
    print("|---|---|---|---|---|---|")
    for group in GROUPS:
        for size in sizes_of(by_group.get(group, {})):
            for r in by_group[group][size]:
                if not r.get("ns"):
                    continue
                per_s = r["elements"] / r["ns"] * 1e9
                gib = r["bytes"] / r["ns"] * 1e9 / (1 << 30) if r.get("bytes") else 0
                print(
                    f"| {group} | {size_label(size)} | {r['line']} | {r['level']} "
                    f"| {per_s / 1e6:.2f} M | {gib:.2f} |"
                )
    print()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "target/compare/results.json")
    by_group = load(path)
    ratio_table(
        by_group,
        "Adapter vs adapter (rfc6455 ÷ best peer at the same level)",
        [("rfc6455_tokio", "tokio adapter ÷ best async peer"),
         ("rfc6455_tokio_prepared", "tokio, prepared ÷ best async peer"),
         ("rfc6455_blocking", "blocking adapter ÷ best blocking peer"),
         ("rfc6455_hyper", "hyper upgrade ÷ fastwebsockets' upgrade"),
         ("rfc6455_axum", "axum extractor ÷ axum's"),
         ("rfc6455_axum_deflate", "axum extractor with deflate ÷ axum's")],
    )
    ratio_table(
        by_group,
        "Core vs core (rfc6455 ÷ best peer core)",
        [("rfc6455_core", "Connection ÷ best core"),
         ("rfc6455_reader", "MessageReader ÷ best core")],
    )
    floor_table(by_group)
    if "--all" in sys.argv:
        throughput_table(by_group)


if __name__ == "__main__":
    main()
