#!/usr/bin/env python3
"""Generate Sources/Node/Anonymization/ConfidentialityProfileTable.swift.

Source data: DICOM PS3.15 Annex E.
  Table E.1-1   Application Level Confidentiality Profile Attributes: for every attribute its action in
                the Basic Profile and in each option column.
  Table E.3.10-1 Safe Private Attributes (Retain Safe Private Option): private creator, element, VR.

Table E.1-1 is read from either
  - the standard's DocBook source, part15.xml (as published under
    dicom.nema.org/medical/dicom/current/source/docbook/part15/), or
  - a JSON list of the table's rows with the column names of innolitics/dicom-standard's
    standard/confidentiality_profile_attributes.json (tag, name, stdCompIOD, basicProfile,
    rtnSafePrivOpt, rtnUIDsOpt, rtnDevIdOpt, rtnInstIdOpt, rtnPatCharsOpt, rtnLongFullDatesOpt,
    rtnLongModifDatesOpt, cleanDescOpt, cleanStructContOpt, cleanGraphOpt), which is parsed from the
    standard's HTML edition.
Table E.3.10-1 is read from a part15.xml.

Why text and not a Swift array literal: as in gen_dictionary.py, a raw multi-line string compiles in
no time and is parsed once, lazily, by ConfidentialityProfile.swift.

Output is deterministic (sorted by tag, no timestamps).

Usage:
  python3 scripts/gen_confidentiality_profile.py --table TABLE.{xml,json} [--table-edition TEXT]
                                                 --safe-private part15.xml [output.swift]
The committed file was made with the 2024e table (innolitics/dicom-standard, January 2025) and the
safe private list of part15.xml 2018d (the newest DocBook source at hand).
"""

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Sources", "Node", "Anonymization", "ConfidentialityProfileTable.swift")
DOCBOOK = "{http://docbook.org/ns/docbook}"

# Option columns in the order of Table E.1-1 (after Basic Prof.). Must match `ProfileColumn` in
# ConfidentialityProfile.swift.
OPTION_COLUMNS = ["rtnSafePrivOpt", "rtnUIDsOpt", "rtnDevIdOpt", "rtnInstIdOpt", "rtnPatCharsOpt",
                  "rtnLongFullDatesOpt", "rtnLongModifDatesOpt", "cleanDescOpt", "cleanStructContOpt",
                  "cleanGraphOpt"]
# PS3.15 E.1.1 action codes.
ACTIONS = {"X", "Z", "D", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}
PRIVATE = "PRIVATE"  # the row "Private Attributes (gggg,eeee) where gggg is odd"


def fail(msg):
    sys.exit("gen_confidentiality_profile.py: " + msg)


def text(node):
    return " ".join("".join(node.itertext()).split())


def clean_field(value, what):
    if "\t" in value or "\n" in value or '"#' in value:
        fail(f"{what}: unsupported character in {value!r}")
    return value.strip()


def normalise_tag(raw, what):
    """'(0010,0010)' -> '00100010'; '(60xx,3000)' -> '60xx3000'; the private row -> PRIVATE."""
    t = raw.strip()
    if re.fullmatch(r"\(gggg,eeee\)\s*where\s*gggg\s*is\s*odd", t, re.IGNORECASE) or t.lower() == "private attributes":
        return PRIVATE
    m = re.fullmatch(r"\(([0-9A-Fa-fxX]{4}),([0-9A-Fa-fxX]{4})\)", t)
    if not m:
        fail(f"{what}: tag {raw!r} is not (gggg,eeee)")
    return (m.group(1) + m.group(2)).upper().replace("X", "x")


def normalise_action(value, what):
    v = value.strip().replace(" ", "")
    if v == "":
        return "-"
    if v not in ACTIONS:
        fail(f"{what}: unknown action {value!r}")
    return v


def docbook_table(path, label):
    root = ET.parse(path).getroot()
    edition = ""
    sub = root.find(DOCBOOK + "subtitle")
    if sub is not None:
        m = re.search(r"PS3\.15\s+(\S+)", text(sub))
        edition = m.group(1) if m else ""
    for table in root.iter(DOCBOOK + "table"):
        if table.get("label") == label:
            head = [text(c) for c in table.find(f".//{DOCBOOK}thead/{DOCBOOK}tr")]
            rows = [[text(c) for c in tr.findall(DOCBOOK + "td")]
                    for tr in table.findall(f".//{DOCBOOK}tbody/{DOCBOOK}tr")]
            return edition, head, rows
    fail(f"{path}: no table labelled {label}")


def rows_from_docbook(path):
    edition, head, rows = docbook_table(path, "E.1-1")
    # Attribute Name, Tag, Retd., In Std. Comp. IOD, Basic Prof., then the ten option columns.
    if len(head) != 15 or not head[4].startswith("Basic"):
        fail(f"{path}: Table E.1-1 has unexpected columns {head}")
    out = []
    for r in rows:
        if len(r) != 15:
            fail(f"{path}: row {r} has {len(r)} cells")
        out.append({"name": r[0], "tag": r[1], "stdCompIOD": r[3], "basicProfile": r[4],
                    **{c: r[5 + i] for i, c in enumerate(OPTION_COLUMNS)}})
    return edition, out


def rows_from_json(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, list) or not data or "basicProfile" not in data[0]:
        fail(f"{path}: not a list of Table E.1-1 rows")
    return "", data


def attribute_lines(rows):
    seen = {}
    lines = []
    for r in rows:
        # Names carry note references ("Icon Image Sequence (see Note 11)"); keep the name alone.
        name = clean_field(re.sub(r"\s*\(see Note[^)]*\)", "", " ".join(r["name"].split())), "name")
        what = f"row {name!r}"
        tag = normalise_tag(r["tag"], what)
        ioc = r.get("stdCompIOD", "").strip().upper()
        if ioc == "":
            ioc = "-"  # a few rows of older editions leave the column empty
        if ioc not in ("Y", "N", "-"):
            fail(f"{what}: In Std. Comp. IOD is {ioc!r}")
        basic = normalise_action(r.get("basicProfile", ""), what)
        if basic == "-":
            fail(f"{what}: no Basic Profile action")
        options = [normalise_action(r.get(c, ""), f"{what} {c}") for c in OPTION_COLUMNS]
        line = "\t".join([tag, ioc, basic] + options + [name])
        if tag in seen:
            if seen[tag] != line:  # some editions list a row twice; only identical repeats are dropped
                fail(f"{what}: tag {r['tag']} is given twice with different actions")
            continue
        seen[tag] = line
        lines.append((tag, line))
    # Exact tags first in tag order, the private row last.
    lines.sort(key=lambda t: (t[0] == PRIVATE, t[0].replace("x", "0")))
    return [line for _, line in lines]


def safe_private_lines(path):
    edition, head, rows = docbook_table(path, "E.3.10-1")
    if head[:3] != ["Data Element", "Private Creator", "VR"]:
        fail(f"{path}: Table E.3.10-1 has unexpected columns {head}")
    out = set()
    for r in rows:
        m = re.fullmatch(r"\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)", r[0].strip())
        if not m:
            fail(f"{path}: safe private element {r[0]!r} is not (gggg,xxee)")
        group, offset = m.group(1).upper(), m.group(2).upper()
        if int(group, 16) % 2 == 0:
            fail(f"{path}: safe private element {r[0]!r} is not in an odd group")
        creator = clean_field(r[1], "creator")
        vr = clean_field(r[2], "vr")
        meaning = clean_field(r[4], "meaning").split(" - ")[0][:80]
        out.add((group, offset, creator, vr, meaning))
    return edition, ["\t".join(t) for t in sorted(out)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", required=True, help="part15.xml or the innolitics JSON of Table E.1-1")
    ap.add_argument("--table-edition", default="", help="edition of the table, when the file does not say")
    ap.add_argument("--safe-private", required=True, help="part15.xml holding Table E.3.10-1")
    ap.add_argument("output", nargs="?", default=DEFAULT_OUT)
    args = ap.parse_args()

    if args.table.endswith(".json"):
        edition, rows = rows_from_json(args.table)
    else:
        edition, rows = rows_from_docbook(args.table)
    edition = args.table_edition or edition or "unknown edition"
    attributes = attribute_lines(rows)
    private_edition, safe = safe_private_lines(args.safe_private)

    header = [
        "// GENERATED FILE - DO NOT EDIT BY HAND.",
        "// Generated by scripts/gen_confidentiality_profile.py from DICOM PS3.15:",
        f"//   Table E.1-1 (Application Level Confidentiality Profile Attributes), {edition}: {len(attributes)} rows;",
        f"//   Table E.3.10-1 (Safe Private Attributes), {private_edition or 'unknown edition'}: {len(safe)} rows.",
        "// Re-run the script to update.",
        "//",
        "// attributeRows columns: tag (hex, 'x' = any hex digit; PRIVATE = every private attribute), in a",
        "//   standard composite IOD (Y/N), Basic Profile action, then the actions of the options Retain Safe",
        "//   Private, Retain UIDs, Retain Device Identity, Retain Institution Identity, Retain Patient",
        "//   Characteristics, Retain Longitudinal Temporal Information Full Dates, ... Modified Dates, Clean",
        "//   Descriptors, Clean Structured Content, Clean Graphics ('-' = no entry), attribute name.",
        "// safePrivateRows columns: group (hex), element within the private block (hex, the 'ee' of",
        "//   (gggg,xxee)), private creator, VR, meaning.",
    ]
    body = (["", "extension ConfidentialityProfileTable {", '    static let attributeRows = #"""']
            + attributes + ['"""#', "", '    static let safePrivateRows = #"""'] + safe + ['"""#', "}"])
    swift = "\n".join(header + body) + "\n"
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(swift)
    print(f"wrote {args.output}: {len(attributes)} attribute rows ({edition}), {len(safe)} safe private rows")


if __name__ == "__main__":
    main()
