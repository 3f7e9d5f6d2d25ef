"""The emoji folder's categories as a data.labels file: file,category rows from the package's emoji.json
(skin-tone variants take their emoji's category; the Component category, skin-tone swatches and hair parts,
is left out, so those few images are not trained on).

    python tests/benchmarks/emoji_labels.py ../shared/data/emoji-google-64.json > emoji-labels.csv
"""
import csv
import json
import sys


def rows(emoji: list[dict]):
    for entry in emoji:
        if entry["category"] == "Component":
            continue
        yield entry["image"], entry["category"]
        for variant in (entry.get("skin_variations") or {}).values():
            yield variant["image"], entry["category"]


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows(json.load(f)))
