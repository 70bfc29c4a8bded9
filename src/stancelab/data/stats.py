"""Corpus statistics: what ``stancelab data stats`` prints, and what the corpus card reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from stancelab.data.build import prepare
from stancelab.data.readers import expand_paths, read_documents

HARD = {"hedge", "refusal_warning", "dismissal", "conditional", "question", "mixed", "other_target"}


def corpus_stats(cfg: Any) -> dict[str, Any]:
    """Counts per target × label, per document kind, speakers, splits and hard phenomena."""
    ds = cfg.dataset
    prepared = prepare(ds)  # validates; its records are what training sees, split
    records = [rec for recs in prepared.splits.values() for rec in recs]
    docs: dict[str, dict[str, Any]] = {}
    for source in ds.sources:
        if source.get("documents"):
            meta, _ = read_documents(expand_paths(source.documents))
            docs.update(meta)
    labels = list(ds.labels)
    main = str(cfg.default_target)
    per_target: dict[str, Counter[str]] = defaultdict(Counter)
    per_kind: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    hard: Counter[str] = Counter()
    for rec in records:
        per_target[rec["target"]][rec["stance"]] += 1
        kind = docs.get(rec.get("doc_id"), {}).get("kind", "unknown")
        per_kind[kind][rec["target"]][rec["stance"]] += 1
        if set(rec.get("phenomena") or ()) & HARD:
            hard[rec["target"]] += 1
    speakers = {r["speaker"] for r in records if r.get("speaker")}
    news = news_derived(records, docs, main, {id(r) for r in prepared.splits.get("real_dev", [])})
    main_total = sum(per_target[main].values())
    return {
        "documents": len({r.get("doc_id") for r in records}),
        "documents_by_kind": dict(Counter(d.get("kind", "unknown") for d in docs.values())),
        "documents_by_target": dict(Counter(d.get("target") for d in docs.values())),
        "sentences": len(records),
        "labels": labels,
        "per_target": {
            t: {lab: c.get(lab, 0) for lab in labels} for t, c in sorted(per_target.items())
        },
        "per_kind": {
            k: {t: {lab: c.get(lab, 0) for lab in labels} for t, c in v.items()}
            for k, v in sorted(per_kind.items())
        },
        "speakers": len(speakers),
        "main_target": main,
        "main_target_shares": {
            lab: (per_target[main][lab] / main_total if main_total else 0.0) for lab in labels
        },
        "main_target_hard_share": hard[main] / main_total if main_total else 0.0,
        "duplicates_removed": prepared.report["duplicates"],
        "splits": {
            s: {"sentences": len(recs), "documents": len({r.get("doc_id") for r in recs})}
            for s, recs in prepared.splits.items()
        },
        "news_derived": news,
        "files": len(prepared.report["files"]),
        "root": str(Path(cfg.paths.root)),
    }


def news_derived(
    records: list[dict[str, Any]], docs: dict[str, dict[str, Any]], main: str, real_dev: set[int]
) -> dict[str, Any]:
    """Documents derived from real news pages (metadata ``origin: news-derived``): how many,
    their sentences, outlet kinds and years, and how much of them the real_dev split holds
    (``real_dev``: the ``id()`` of each record the split assignment put there)."""
    ids = {d for d, m in docs.items() if m.get("origin") == "news-derived"}
    recs = [r for r in records if r.get("doc_id") in ids]
    used = {r.get("doc_id") for r in recs}
    meta = [docs[d] for d in sorted(used)]
    dev = [r for r in recs if id(r) in real_dev]
    return {
        "documents": len(used),
        "sentences": len(recs),
        "main_target_sentences": sum(r["target"] == main for r in recs),
        "per_label": dict(
            sorted(Counter(r["stance"] for r in recs if r["target"] == main).items())
        ),
        "documents_by_outlet_kind": dict(
            sorted(Counter(m.get("outlet_kind", "unknown") for m in meta).items())
        ),
        "documents_by_year": dict(
            sorted(Counter(str(m.get("date", "?"))[:4] for m in meta).items())
        ),
        "real_dev": {"documents": len({r.get("doc_id") for r in dev}), "sentences": len(dev)},
    }


def render_stats(stats: dict[str, Any]) -> str:
    """Terminal tables (rich) of :func:`corpus_stats`."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=110, force_terminal=False)
    labels = stats["labels"]
    console.print(
        f"{stats['documents']} documents, {stats['sentences']} sentences, "
        f"{stats['speakers']} named speakers, {stats['files']} files"
    )
    table = Table("target", *labels, "total", title="sentences per target × label")
    for target, counts in stats["per_target"].items():
        table.add_row(target, *(str(counts[lab]) for lab in labels), str(sum(counts.values())))
    console.print(table)
    table = Table("kind", "documents", "target", *labels, title="per document kind")
    for kind, per_t in stats["per_kind"].items():
        for i, (target, counts) in enumerate(sorted(per_t.items())):
            table.add_row(
                kind if i == 0 else "",
                str(stats["documents_by_kind"].get(kind, "")) if i == 0 else "",
                target,
                *(str(counts[lab]) for lab in labels),
            )
    console.print(table)
    table = Table("split", "documents", "sentences", title="splits (grouped by document)")
    for split, s in stats["splits"].items():
        table.add_row(split, str(s["documents"]), str(s["sentences"]))
    console.print(table)
    news = stats["news_derived"]
    if news["documents"]:
        kinds = ", ".join(f"{k} {v}" for k, v in news["documents_by_outlet_kind"].items())
        console.print(
            f"news-derived: {news['documents']} documents, {news['sentences']} "
            f"sentences ({news['main_target_sentences']} main-target); outlet kinds: "
            f"{kinds}; real_dev {news['real_dev']['documents']} documents, "
            f"{news['real_dev']['sentences']} sentences"
        )
    shares = ", ".join(f"{lab} {v:.1%}" for lab, v in stats["main_target_shares"].items())
    console.print(
        f"main target '{stats['main_target']}': {shares}; "
        f"hard phenomena {stats['main_target_hard_share']:.1%}"
    )
    d = stats["duplicates_removed"]
    console.print(
        f"duplicates found by the builder: exact {d['exact']}, normalised {d['normalized']}"
    )
    return buffer.getvalue()


def render_markdown(stats: dict[str, Any]) -> str:
    """The corpus card's tables; ``seeds/README.md`` embeds exactly this text."""
    labels = stats["labels"]
    out = [
        f"{stats['documents']} documents, {stats['sentences']} sentences, "
        f"{stats['speakers']} distinct named speakers.",
        "",
        "| target | " + " | ".join(labels) + " | total |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for target, counts in stats["per_target"].items():
        out.append(
            f"| {target} | "
            + " | ".join(str(counts[lab]) for lab in labels)
            + f" | {sum(counts.values())} |"
        )
    out += [
        "",
        "| kind | documents | target | " + " | ".join(labels) + " |",
        "|---|---:|---|" + "---:|" * len(labels),
    ]
    for kind, per_t in stats["per_kind"].items():
        for i, (target, counts) in enumerate(sorted(per_t.items())):
            docs = str(stats["documents_by_kind"].get(kind, "")) if i == 0 else ""
            out.append(
                f"| {kind if i == 0 else ''} | {docs} | {target} | "
                + " | ".join(str(counts[lab]) for lab in labels)
                + " |"
            )
    out += ["", "| split | documents | sentences |", "|---|---:|---:|"]
    out += [f"| {s} | {v['documents']} | {v['sentences']} |" for s, v in stats["splits"].items()]
    news = stats["news_derived"]
    if news["documents"]:
        out += [
            "",
            "| news-derived | documents | sentences |",
            "|---|---:|---:|",
            f"| all | {news['documents']} | {news['sentences']} |",
        ]
        out += [
            f"| outlet kind: {k} | {v} | |" for k, v in news["documents_by_outlet_kind"].items()
        ]
        out += [f"| year: {k} | {v} | |" for k, v in news["documents_by_year"].items()]
        out.append(
            f"| real_dev split | {news['real_dev']['documents']} | "
            f"{news['real_dev']['sentences']} |"
        )
    shares = ", ".join(f"{lab} {v:.1%}" for lab, v in stats["main_target_shares"].items())
    out += [
        "",
        f"Main target `{stats['main_target']}`: {shares}; sentences showing a hard "
        f"phenomenon: {stats['main_target_hard_share']:.1%}.",
    ]
    return "\n".join(out) + "\n"
