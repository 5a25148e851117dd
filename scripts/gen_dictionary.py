#!/usr/bin/env python3
"""Generate Sources/Codec/Dictionary/GeneratedDictionary.swift.

Source data: the machine-readable PS3.6 tables that pydicom ships
  pydicom._dicom_dict.DicomDictionary     {tag: (VR, VM, Name, Retired, Keyword)}   PS3.6 section 6 (+ 7, 8 for 0000/0002)
  pydicom._dicom_dict.RepeatersDictionary {'50xx0005': (VR, VM, Name, Retired, Keyword)}
  pydicom._uid_dict.UID_dictionary        {uid: (Name, Type, Info, Retired, Keyword)}  PS3.6 Annex A
and, when pynetdicom is installed, its list of Storage SOP Classes (sop_class._STORAGE_CLASSES), which
is used to mark storage classes and to add the few that are newer than pydicom's UID table.

Why text and not a Swift array literal: a literal of ~5000 structs keeps the Swift type checker busy
for minutes. A couple of raw multi-line string literals compile in well under a second and are parsed
once, lazily, by DataDictionary.swift.

Output is deterministic (sorted, no timestamps): re-running with the same pydicom gives the same file.

Usage: python3 scripts/gen_dictionary.py [output.swift]
"""

import os
import re
import sys

import pydicom
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
from pydicom._uid_dict import UID_dictionary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "Sources", "Codec", "Dictionary", "GeneratedDictionary.swift")

# Must match `enum VR` in Sources/Codec/Core/VR.swift (PS3.5 6.2 Table 6.2-1).
KNOWN_VRS = set("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split())


def fail(msg):
    sys.exit("gen_dictionary.py: " + msg)


def clean(field, what):
    """Fields go into a tab-separated raw string literal: no tabs, newlines, raw-string terminators,
    or leading/trailing blanks (a multi-line literal would keep them but editors strip them)."""
    if not isinstance(field, str):
        fail(f"{what}: not a string: {field!r}")
    if "\t" in field or "\n" in field or "\r" in field or '"#' in field:
        fail(f"{what}: unsupported character in {field!r}")
    if field != field.strip():
        fail(f"{what}: leading/trailing blanks in {field!r}")
    return field


def normalise_vr(vr, what):
    """'US or SS' -> 'US|SS'; pydicom's 'NONE' (item/delimiter tags, PS3.5 7.5) -> '' (no VR)."""
    if vr == "NONE" or vr == "":
        return ""
    parts = [p.strip() for p in vr.split(" or ")]
    for p in parts:
        if p not in KNOWN_VRS:
            fail(f"{what}: unknown VR {p!r} in {vr!r}; extend enum VR and KNOWN_VRS first")
    return "|".join(parts)


def retired_flag(value, what):
    if value == "Retired":
        return "R"
    if value == "":
        return ""
    fail(f"{what}: unexpected retired field {value!r}")


def pattern_value_mask(pattern):
    """'50xx0005' -> (0x50000005, 0xFF00FFFF): 'x' nibbles are wildcards (PS3.5 7.6 repeating groups)."""
    if not re.fullmatch(r"[0-9A-Fa-fx]{8}", pattern):
        fail(f"bad repeater pattern {pattern!r}")
    value = int(pattern.replace("x", "0"), 16)
    mask = int("".join("0" if c == "x" else "F" for c in pattern), 16)
    return value, mask


def element_rows():
    rows = []  # (value, mask, line)
    for tag, (vr, vm, name, retired, keyword) in DicomDictionary.items():
        what = f"tag {tag:08X}"
        rows.append((tag, 0xFFFFFFFF, "\t".join([
            f"{tag:08X}", normalise_vr(vr, what), clean(vm, what), retired_flag(retired, what),
            clean(keyword, what), clean(name, what)])))
    for pattern, (vr, vm, name, retired, keyword) in RepeatersDictionary.items():
        what = f"repeater {pattern}"
        value, mask = pattern_value_mask(pattern)
        rows.append((value, mask, "\t".join([
            pattern.upper().replace("X", "x"), normalise_vr(vr, what), clean(vm, what),
            retired_flag(retired, what), clean(keyword, what), clean(name, what)])))
    rows.sort(key=lambda r: (r[0], -r[1]))
    # Sanity: no duplicate patterns, no duplicate keywords (lookups by keyword must be unambiguous).
    seen = set()
    for value, mask, _ in rows:
        if (value, mask) in seen:
            fail(f"duplicate tag {value:08X}/{mask:08X}")
        seen.add((value, mask))
    keywords = [line.split("\t")[4] for _, _, line in rows]
    dups = {k for k in keywords if k and keywords.count(k) > 1}
    if dups:
        fail(f"duplicate keywords {sorted(dups)}")
    return [line for _, _, line in rows]


def camel_to_words(keyword):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", keyword)


def uid_sort_key(uid):
    return tuple(int(c) for c in uid.split("."))


def uid_rows():
    try:
        import pynetdicom
        from pynetdicom import sop_class
        pynet_storage = dict(sop_class._STORAGE_CLASSES)  # keyword -> uid
        pynet_version = pynetdicom.__version__
    except Exception as exc:  # optional: the name heuristic below still finds all of them in pydicom's table
        print(f"gen_dictionary.py: pynetdicom not usable ({exc}); storage classes from names only", file=sys.stderr)
        pynet_storage, pynet_version = {}, None

    entries = {}
    for uid, (name, type_, info, retired, keyword) in UID_dictionary.items():
        what = f"UID {uid}"
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", uid):
            fail(f"{what}: not a numeric UID")
        entries[uid] = [clean(name, what), clean(type_, what), clean(info, what),
                        retired_flag(retired, what), clean(keyword, what)]

    added = []
    for keyword, uid in sorted(pynet_storage.items(), key=lambda kv: uid_sort_key(kv[1])):
        if uid not in entries:
            # Newer than pydicom's table; PS3.6 names equal the keyword split into words for these.
            entries[uid] = [camel_to_words(keyword), "SOP Class", "", "", keyword]
            added.append(uid)
    pynet_uids = set(pynet_storage.values())

    def is_storage(uid, e):
        # Storage Service Class SOP Classes (PS3.4 Annex B, also Non-Patient Object Storage, Annex GG):
        # named "... Storage", "... Storage - For Presentation", "... Storage - Trial", "... Storage SOP Class".
        # Not Storage Commitment (a different service) and not the DICOMDIR's "Media Storage Directory Storage".
        name, type_ = e[0], e[1]
        if type_ != "SOP Class":
            return False
        if uid in pynet_uids:
            return True
        return (re.search(r"\bStorage\b", name) is not None
                and not name.startswith("Storage Commitment")
                and not name.startswith("Media Storage Directory"))

    lines = []
    for uid in sorted(entries, key=uid_sort_key):
        name, type_, info, retired, keyword = entries[uid]
        storage = "S" if is_storage(uid, entries[uid]) else ""
        lines.append("\t".join([uid, type_, retired, storage, keyword, name, info]))
    return lines, pynet_version, added


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    elements = element_rows()
    uids, pynet_version, added = uid_rows()
    pynet = f"pynetdicom {pynet_version}" if pynet_version else "no pynetdicom"
    added_note = ""
    if added:
        added_note = ("// UIDs added from pynetdicom's storage list (newer than pydicom's table): "
                      + ", ".join(added) + "\n")
    text = f"""// GENERATED FILE - DO NOT EDIT BY HAND.
// Generated by scripts/gen_dictionary.py from pydicom {pydicom.__version__} (_dicom_dict.py, _uid_dict.py)
// and {pynet} (storage SOP class list). Re-run the script to update.
//
// The PS3.6 data dictionary (sections 6, 7, 8) and UID registry (Annex A) as tab-separated text,
// parsed lazily by DataDictionary.swift. Text rather than an array literal keeps compile time small.
//
// elementTable columns: tag (hex, 'x' = repeating-group wildcard), VRs ('|'-separated, empty = none),
//   VM, retired ('R' or empty), keyword, name. {len(elements)} rows, sorted by tag.
// uidTable columns: UID, type, retired ('R' or empty), storage SOP class ('S' or empty), keyword,
//   name, info. {len(uids)} rows, sorted by UID components.
{added_note}
extension DataDictionary {{
    static let elementTable = #\"\"\"
{chr(10).join(elements)}
\"\"\"#
}}

extension UIDRegistry {{
    static let uidTable = #\"\"\"
{chr(10).join(uids)}
\"\"\"#
}}
"""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {out}: {len(elements)} elements, {len(uids)} UIDs", file=sys.stderr)


if __name__ == "__main__":
    main()
