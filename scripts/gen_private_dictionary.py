#!/usr/bin/env python3
"""Generate Sources/Codec/Dictionary/GeneratedPrivateDictionary.swift.

Source data: pydicom._private_dict.private_dictionaries
  {private creator: {'0019xx10': (VR, VM, Name, Retired), ...}}
which pydicom generates from GDCM's private dictionary. Private data elements are identified by
the Private Creator value that reserved their block plus the low byte of the element (PS3.5 7.8.1).

Key patterns and how pydicom (datadict.get_private_entry) matches them for a tag (gggg,bbee):
it tries, in this order, the keys 'ggggbbee' (fully specified), 'ggggxxee' (any block) and
'ggxxxxee' (any group with the same high byte, used for 60xx/70xx overlay-like groups).
  'ggggxxee'  -> mask 0xFFFF00FF   (almost all rows)
  'ggggbbee'  -> mask 0xFFFFFFFF   (matches only that exact tag, as in pydicom)
  'ggxxxxee'  -> mask 0xFF0000FF
Any other pattern (the table has 'ggggbbxx', e.g. GEMS_IDEN_01 '000910xx') can never be produced by
pydicom's lookup, so those rows are unreachable there; they are left out here and listed in the
generated file's header.

Same text-table approach as gen_dictionary.py (a raw multi-line string literal parsed lazily by
PrivateDictionary.swift) so that the generated file compiles in well under a second.

Output is deterministic (sorted, no timestamps): re-running with the same pydicom gives the same file.

Usage: python3 scripts/gen_private_dictionary.py [output.swift]
"""

import os
import re
import sys

import pydicom
from pydicom._private_dict import private_dictionaries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Sources", "Codec", "Dictionary", "GeneratedPrivateDictionary.swift")

# Must match `enum VR` in Sources/Codec/Core/VR.swift (PS3.5 6.2 Table 6.2-1).
# Shared with the public dictionary generator: one list of VRs, one way to fail and clean fields.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_dictionary import KNOWN_VRS, fail, clean, retired_flag  # noqa: E402
import gen_dictionary  # noqa: E402

# pydicom/GDCM spellings of a VR choice that are not "A or B". pydicom itself cannot decode an element
# with VR 'OB_OW' (NotImplementedError: Unknown Value Representation); we read it as OB (first choice).
VR_ALIASES = {"OB_OW": "OB or OW"}

# Key shapes pydicom's get_private_entry can match; value = mask over the 32-bit tag.
SUPPORTED = {
    "hhhhxxhh": 0xFFFF00FF,
    "hhhhhhhh": 0xFFFFFFFF,
    "hhxxxxhh": 0xFF0000FF,
}








def normalise_vr(vr, what):
    """'US or SS' -> 'US|SS'; 'OB_OW' -> 'OB|OW'."""
    return gen_dictionary.normalise_vr(VR_ALIASES.get(vr, vr), what)





def shape(key):
    if not re.fullmatch(r"[0-9A-Fx]{8}", key):
        return None
    return re.sub(r"[0-9A-F]", "h", key)


def value_mask(key):
    value = int(key.replace("x", "0"), 16)
    mask = int("".join("0" if c == "x" else "F" for c in key), 16)
    return value, mask


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    creators = sorted(private_dictionaries, key=lambda c: c.encode("utf-8"))
    lines = []
    skipped = []       # (creator, key)
    aliases = []       # (creator, key, vr)
    count = 0
    for creator in creators:
        what_c = f"creator {creator!r}"
        clean(creator, what_c)
        if not creator:
            fail("empty private creator")
        rows = []
        for key, fields in private_dictionaries[creator].items():
            what = f"{what_c} key {key!r}"
            if len(fields) != 4:
                fail(f"{what}: expected (VR, VM, name, retired), got {fields!r}")
            vr, vm, name, retired = fields
            s = shape(key)
            if s not in SUPPORTED:
                if s is None:
                    fail(f"{what}: malformed key")
                skipped.append((creator, key))
                continue
            value, mask = value_mask(key)
            assert mask == SUPPORTED[s]
            if vr in VR_ALIASES:
                aliases.append((creator, key, vr))
            rows.append(((value, -mask), "\t".join([
                "", key, normalise_vr(vr, what), clean(vm, what), retired_flag(retired, what), clean(name, what)])))
        if not rows:
            continue
        rows.sort()
        seen = set()
        for k, _ in rows:
            if k in seen:
                fail(f"{what_c}: duplicate pattern {k}")
            seen.add(k)
        lines.append(creator)
        lines.extend(line for _, line in rows)
        count += len(rows)

    n_creators = sum(1 for line in lines if not line.startswith("\t"))
    notes = ""
    if skipped:
        notes += ("// Rows left out (pattern 'ggggbbxx', which pydicom's lookup never matches): "
                  + ", ".join(f"{c} {k}" for c, k in skipped) + "\n")
    if aliases:
        notes += ("// VRs rewritten: " + ", ".join(f"{c} {k} {vr!r}" for c, k, vr in aliases)
                  + " (pydicom cannot decode it; read as the first choice)\n")
    text = f"""// GENERATED FILE - DO NOT EDIT BY HAND.
// Generated by scripts/gen_private_dictionary.py from pydicom {pydicom.__version__} (_private_dict.py, which
// pydicom builds from GDCM's private dictionary). Re-run the script to update.
//
// Private data elements (PS3.5 7.8.1) by Private Creator, as tab-separated text parsed lazily by
// PrivateDictionary.swift. Text rather than an array literal keeps compile time small.
//
// A line without a leading tab is a Private Creator value; the lines after it, each starting with a
// tab (empty first column), are its elements. Element columns: (empty), tag pattern, VRs
// ('|'-separated), VM, retired ('R' or empty), name. Tag patterns: 'ggggxxee' (any block),
// 'ggggbbee' (that exact tag only), 'ggxxxxee' (any group gg00-ggFF), matched in that order of
// preference as pydicom does. {n_creators} creators, {count} elements, creators sorted by UTF-8 bytes,
// elements by pattern.
{notes}
extension PrivateDictionary {{
    static let table = #\"\"\"
{chr(10).join(lines)}
\"\"\"#
}}
"""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {out}: {n_creators} creators, {count} elements, {len(skipped)} rows left out",
          file=sys.stderr)


if __name__ == "__main__":
    main()
