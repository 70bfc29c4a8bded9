"""Markdown tables of results.json (what README.md in this folder shows).

python experiments/real_news/report.py
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

HERE = Path(__file__).parent


def ci(m: dict, split: str) -> str:
    low, high = m.get(f"{split}_macro_f1_ci_low"), m.get(f"{split}_macro_f1_ci_high")
    return f"[{low:.3f}, {high:.3f}]" if low is not None else ""


def main() -> None:
    from run import ROWS  # the same rows, in the same order

    results = json.loads((HERE / "results.json").read_text())
    print(
        "| configuration | corpus test macro-F1 [95% CI] | real_dev macro-F1 [95% CI] | "
        "real_dev F_avg | real_dev F1 favor / against / none | command |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name in ROWS:
        if name not in results:
            continue
        r = results[name]
        m = r["metrics"]
        command = "stancelab train " + " ".join(map(shlex.quote, r["overrides"]))
        print(
            f"| **{name}**: {r['what']} | {m['test_macro_f1']:.3f} {ci(m, 'test')} | "
            f"{m['realdev_macro_f1']:.3f} {ci(m, 'realdev')} | {m['realdev_f_avg']:.3f} | "
            f"{m['realdev_f1_favor']:.2f} / {m['realdev_f1_against']:.2f} / "
            f"{m['realdev_f1_none']:.2f} | `{command.strip()}` |"
        )
    for key, title in (
        ("realdev_by_phenomenon", "phenomenon tag"),
        ("realdev_by_outlet_kind", "outlet kind"),
    ):
        names = [n for n in ROWS if n in results]
        groups = sorted({g for n in names for g in results[n][key]})
        print(
            f"\n**real_dev accuracy by {title}** (sentences in brackets; a sentence may carry "
            "several tags)\n"
        )
        print(
            "| configuration | "
            + " | ".join(f"{g} ({results[names[0]][key][g]['n']})" for g in groups)
            + " |"
        )
        print("|---|" + "---:|" * len(groups))
        for n in names:
            cells = [
                f"{results[n][key][g]['accuracy']:.2f}" if g in results[n][key] else ""
                for g in groups
            ]
            print(f"| {n} | " + " | ".join(cells) + " |")
    print("\n**real_dev recall per gold label**\n")
    print("| configuration | favor | against | none |")
    print("|---|---:|---:|---:|")
    for n in (n for n in ROWS if n in results):
        g = results[n]["realdev_by_gold"]
        print(
            f"| {n} | {g['favor']['accuracy']:.2f} | {g['against']['accuracy']:.2f} | "
            f"{g['none']['accuracy']:.2f} |"
        )


if __name__ == "__main__":
    main()
