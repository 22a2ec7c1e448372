"""Fingerprint calibration: the simulator's per-attribute entropy and unique share beside the
published ones, at the published population sizes (one day of the default preset).

Published values: Panopticlick (Eckersley 2010, n=470,161) and AmIUnique (Laperdrix et al. 2016,
n=118,934), from the comparison table of Laperdrix et al., "Browser Fingerprinting: A Survey",
ACM TWEB 2020 (secondary transcription; see datasets/calibration.toml). Two simulated populations
per study: the default preset as is (half its visitors on phones, which list no plugins), and the
same with the studies' device split (mostly desktop; derived, see calibration.toml), the
like-for-like comparison the fingerprint pools in datasets/devices.toml are calibrated on. Prints
the gap honestly: "x2^gap" is how many times more equally likely values an attribute would need.

    python benchmarks/fingerprint_calibration.py [--quick]   # --quick: 1/10 of the populations
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

import polars as pl

from engine import datasets, privacy
from engine.scenario import apply_overrides, load_preset
from simulators.traffic import generate_traffic

STUDIES = {  # name -> (population, column in published_entropy(), unique-share key)
    "Panopticlick": (470_161, "panopticlick_bits", "panopticlick"),
    "AmIUnique": (118_934, "amiunique_bits", "amiunique"),
}
# Published figures the simulated population is not calibrated to, and why (printed below the table).
NOTES = {
    ("Panopticlick", "fonts"): "2010: Flash and Java listed the system fonts of almost every desktop browser; AmIUnique "
                               "(2016, Flash fading) measured 8.38 bits. One population cannot carry both: calibrated to AmIUnique.",
    ("Panopticlick", "plugins"): "2010: NPAPI plugin lists with versions everywhere; by 2016 Chrome had removed NPAPI and "
                                 "AmIUnique measured 11.06 bits. Calibrated to AmIUnique.",
    ("Panopticlick", "accept"): "Panopticlick's attribute is the 'HTTP ACCEPT headers' together, AmIUnique's the Accept "
                                "header alone (1.38 bits): not the same thing. Ours with Accept-Language: {accept_language:.2f} bits.",
    ("Panopticlick", "timezone"): "Follows the scenario's country mix (22 countries), not a fingerprint pool.",
    ("AmIUnique", "timezone"): "Follows the scenario's country mix (22 countries), not a fingerprint pool.",
    ("AmIUnique", "platform"): "Fixed by the device profile's OS; the profiles' StatCounter-shaped mix is mostly "
                               "Windows on desktop, so the study split gives fewer bits than the default one.",
    ("AmIUnique", "accept"): "One Accept header per browser family (today's values): few bits beyond the browser family.",
}


def population(n: int, study_mix: bool) -> pl.DataFrame:
    overrides = {"traffic.visitors": n, "traffic.days": 1} | (privacy.study_mix_overrides() if study_mix else {})
    return generate_traffic(apply_overrides(load_preset("eu_shop"), overrides)).visitors


def _shares(vis: pl.DataFrame, attrs: list[str], by_device: bool) -> str:
    line = f"{privacy.unique_share(vis, attrs):.1%}"
    if by_device:
        # Uniqueness within the device class's own population, as the study reports it.
        parts = [f"{d} {privacy.unique_share(sub, attrs):.1%} (n={sub.height:,})"
                 for d in ("desktop", "mobile") if (sub := vis.filter(pl.col("device") == d)).height]
        line += " [" + ", ".join(parts) + "]"
    return line


def report(name: str, n: int, column: str, share_key: str) -> None:
    t0 = time.perf_counter()
    default, study = population(n, study_mix=False), population(n, study_mix=True)
    seconds = time.perf_counter() - t0
    pub = privacy.published_entropy().filter(pl.col(column).is_not_null())
    attrs = pub["attribute"].to_list()
    ours = privacy.attribute_entropy(default, attrs)
    like = privacy.attribute_entropy(study, attrs)
    print(f"\n{name}: {n:,} simulated browsers per population (both generated in {seconds:.1f}s)")
    print(f"  {'attribute':<16}{'default':>8}{'study mix':>10}{'theirs':>8}{'gap':>7}{'x2^gap':>8}  distinct (study mix)")
    for a, theirs in zip(attrs, pub[column].to_list()):
        gap = theirs - like[a]
        flag = " *" if (name, a) in NOTES else ""
        print(f"  {a:<16}{ours[a]:>8.2f}{like[a]:>10.2f}{theirs:>8.2f}{gap:>+7.2f}{2 ** gap:>8.1f}  {study[a].n_unique():,}{flag}")
    print(f"  {'sum of bits':<16}{sum(ours.values()):>8.2f}{sum(like.values()):>10.2f}{sum(pub[column].to_list()):>8.2f}")
    shares = datasets.calibration()["fingerprint"]["unique_share"]
    published = f"{shares[share_key]:.1%}"
    if share_key == "amiunique":
        published += f" [desktop {shares['amiunique_desktop']:.0%}, mobile {shares['amiunique_mobile']:.0%}]"
    by_device = share_key == "amiunique"
    print(f"  unique share over these {len(attrs)} attributes: published {published}")
    print(f"    default preset: {_shares(default, attrs, by_device)}")
    print(f"    study mix:      {_shares(study, attrs, by_device)}")
    print(f"  unique share over all {len(privacy.FINGERPRINT_ATTRIBUTES)} simulated attributes (default preset): "
          f"{privacy.unique_share(default, privacy.FINGERPRINT_ATTRIBUTES):.1%}")
    for label, vis in (("default preset", default), ("study mix", study)):
        curve = privacy.uniqueness_curve(vis, attrs, privacy.population_sizes(vis.height, 1000, 2))
        print(f"  uniqueness vs population ({label}): "
              + ", ".join(f"{r['population']:,}: {r['unique_share']:.1%}" for r in curve.iter_rows(named=True)))
    both = study.select(pl.concat_str(["accept", "language"], separator="|").alias("accept_language"))
    bits = privacy.attribute_entropy(both, ["accept_language"])["accept_language"]
    for (study_name, a), note in NOTES.items():
        if study_name == name and a in attrs:
            print(f"  * {a}: {note.format(accept_language=bits)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one tenth of the published population sizes")
    args = parser.parse_args()
    entry = datasets.calibration()["fingerprint"]
    mix = entry["study_device_mix"]
    print(f"Sources: {entry['entropy_bits']['source']} (secondary transcription); {entry['unique_share']['source']}.")
    print("Simulated: default preset (eu_shop), one day; attributes drawn from correlated device profiles "
          "(fingerprint pools: datasets/devices.toml).")
    print(f"Study mix: desktop {mix['desktop']:.1%}, mobile {mix['mobile']:.1%}, tablet {mix['tablet']:.0%} "
          f"({mix['source']}); gap and x2^gap refer to it.")
    for name, (n, column, key) in STUDIES.items():
        report(name, max(math.ceil(n / 10), 1000) if args.quick else n, column, key)


if __name__ == "__main__":
    main()
