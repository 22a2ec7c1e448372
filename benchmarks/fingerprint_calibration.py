"""Fingerprint calibration: the simulator's per-attribute entropy and unique share beside the
published ones, at the published population sizes (one day of the default preset).

Published values: Panopticlick (Eckersley 2010, n=470,161) and AmIUnique (Laperdrix et al. 2016,
n=118,934), from the comparison table of Laperdrix et al., "Browser Fingerprinting: A Survey",
ACM TWEB 2020 (secondary transcription; see datasets/calibration.toml). Prints the gap honestly:
"x2^gap" is how many times more equally likely values an attribute would need to close it.

    python benchmarks/fingerprint_calibration.py [--quick]   # --quick: 1/10 of the populations
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

import polars as pl  # noqa: E402

from engine import datasets, privacy  # noqa: E402
from engine.scenario import apply_overrides, load_preset  # noqa: E402
from simulators.traffic import generate_traffic  # noqa: E402

STUDIES = {  # name -> (population, column in published_entropy(), unique-share key)
    "Panopticlick": (470_161, "panopticlick_bits", "panopticlick"),
    "AmIUnique": (118_934, "amiunique_bits", "amiunique"),
}


def population(n: int) -> pl.DataFrame:
    s = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": n, "traffic.days": 1})
    return generate_traffic(s).visitors


def report(name: str, n: int, column: str, share_key: str) -> None:
    t0 = time.perf_counter()
    vis = population(n)
    seconds = time.perf_counter() - t0
    pub = privacy.published_entropy().filter(pl.col(column).is_not_null())
    attrs = pub["attribute"].to_list()
    ours = privacy.attribute_entropy(vis, attrs)
    print(f"\n{name}: {vis.height:,} simulated browsers (generated in {seconds:.1f}s)")
    print(f"  {'attribute':<16}{'ours':>7}{'theirs':>8}{'gap':>7}{'x2^gap':>9}  distinct(ours)")
    for a, theirs in zip(attrs, pub[column].to_list()):
        gap = theirs - ours[a]
        print(f"  {a:<16}{ours[a]:>7.2f}{theirs:>8.2f}{gap:>+7.2f}{2 ** gap:>9.1f}  {vis[a].n_unique():,}")
    print(f"  {'sum of bits':<16}{sum(ours.values()):>7.2f}{sum(pub[column].to_list()):>8.2f}")
    shares = datasets.calibration()["fingerprint"]["unique_share"]
    share = privacy.unique_share(vis, attrs)
    print(f"  unique share over these {len(attrs)} attributes: ours {share:.1%} vs published {shares[share_key]:.1%}")
    if share_key == "amiunique":
        for device, key in (("desktop", "amiunique_desktop"), ("mobile", "amiunique_mobile")):
            sub = vis.filter(pl.col("device") == device)
            # Uniqueness within the device class's own population, as the study reports it.
            print(f"    {device}: ours {privacy.unique_share(sub, attrs):.1%} (n={sub.height:,}) vs published {shares[key]:.1%}")
    all_share = privacy.unique_share(vis, privacy.FINGERPRINT_ATTRIBUTES)
    print(f"  unique share over all {len(privacy.FINGERPRINT_ATTRIBUTES)} simulated attributes: {all_share:.1%}")
    curve = privacy.uniqueness_curve(vis, attrs, privacy.population_sizes(vis.height, 1000, 2))
    print("  uniqueness vs population: " + ", ".join(f"{r['population']:,}: {r['unique_share']:.1%}" for r in curve.iter_rows(named=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tenth of the published population sizes")
    args = parser.parse_args()
    entry = datasets.calibration()["fingerprint"]
    print(f"Sources: {entry['entropy_bits']['source']} (secondary transcription); {entry['unique_share']['source']}.")
    print("Simulated: default preset (eu_shop), one day; attributes drawn from correlated device profiles.")
    for name, (n, column, key) in STUDIES.items():
        report(name, max(math.ceil(n / 10), 1000) if args.quick else n, column, key)


if __name__ == "__main__":
    main()
