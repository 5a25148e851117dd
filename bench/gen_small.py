#!/usr/bin/env python3
"""Generate N small CT instances (64x64, ~9 KB) for scale benchmarks and crash tests: series of
--per-series instances, 4 series per study, 2 studies per patient, all UIDs derived from --seed.
usage: gen_small.py OUT_DIR N [--seed S] [--per-series K]"""
import argparse, os
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, CTImageStorage, generate_uid

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("n", type=int)
    ap.add_argument("--seed", default="1"); ap.add_argument("--per-series", type=int, default=100)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    px = (np.arange(64 * 64, dtype=np.uint16) % 4096).reshape(64, 64)
    for i in range(a.n):
        series = i // a.per_series; study = series // 4; patient = study // 2
        uid = lambda *k: generate_uid(entropy_srcs=[a.seed, *map(str, k)])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = uid("sop", i)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset(); ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientName = f"Small^{a.seed}^{patient}"; ds.PatientID = f"SM{a.seed}-{patient}"
        ds.StudyInstanceUID = uid("study", study); ds.SeriesInstanceUID = uid("series", series)
        ds.StudyDate = "20260101"; ds.Modality = "CT"; ds.SeriesNumber = series % 1000 + 1; ds.InstanceNumber = i % a.per_series + 1
        ds.Rows = ds.Columns = 64; ds.BitsAllocated = 16; ds.BitsStored = 12; ds.HighBit = 11
        ds.PixelRepresentation = 0; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = ((px + i) % 4096).astype(np.uint16).tobytes()
        ds.save_as(os.path.join(a.out, f"s{i:07d}.dcm"), enforce_file_format=True)
    print(f"gen_small: wrote {a.n} instances to {a.out}")

if __name__ == "__main__":
    main()
