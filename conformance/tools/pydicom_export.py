#!/usr/bin/env python3
"""Export what pydicom reads from each DICOM file as the DICOM JSON model (PS3.18 F),
so our reader can be compared with it value by value.

usage: pydicom_export.py OUT_DIR FILE_OR_DIR...
Writes OUT_DIR/index.json: [{"path", "ok", "error"?, "json"?, "meta"?, "transfer_syntax"?}].
"""
import json, os, sys, warnings

import pydicom
from pydicom import config

def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    yield os.path.join(root, n)
        else:
            yield p

def main():
    out, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    config.settings.reading_validation_mode = config.IGNORE
    results = []
    for path in sorted(files(paths)):
        entry = {"path": os.path.abspath(path), "ok": False}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ds = pydicom.dcmread(path, force=False)
                except pydicom.errors.InvalidDicomError:
                    # A bare data set (no preamble/meta): pydicom reads it only when forced;
                    # only .dcm files are tried, text and other files are not DICOM.
                    if not path.endswith(".dcm"):
                        raise
                    ds = pydicom.dcmread(path, force=True)
                    if len(ds) == 0:
                        raise
                entry["json"] = ds.to_json_dict()
                meta = getattr(ds, "file_meta", None)
                entry["meta"] = meta.to_json_dict() if meta is not None else {}
                tsuid = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
                entry["transfer_syntax"] = str(tsuid) if tsuid else None
                entry["ok"] = True
        except Exception as e:  # pydicom itself cannot read it: not a comparison case
            entry["error"] = f"{type(e).__name__}: {e}"
            entry.pop("json", None)
        results.append(entry)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(results, f)
    ok = sum(r["ok"] for r in results)
    print(f"pydicom read {ok} of {len(results)} files", file=sys.stderr)

if __name__ == "__main__":
    main()
