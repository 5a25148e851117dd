#!/usr/bin/env python3
"""Generate a CT series for benchmarks: N slices of 512x512 16-bit signed, Explicit VR Little Endian,
a phantom (body, lungs, spine) plus Gaussian noise so the data does not compress trivially.
usage: gen_ct.py OUT_DIR N [--seed S]"""
import os, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, CTImageStorage, generate_uid

def main():
    out, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--seed" else 1
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    study, series, frame = (generate_uid(entropy_srcs=[str(seed), k]) for k in ("study", "series", "frame"))
    y, x = np.mgrid[0:512, 0:512]
    for i in range(n):
        z = i / max(n - 1, 1)
        img = np.full((512, 512), -1000.0)
        body = ((x - 256) / (200 + 20 * np.sin(z * 3))) ** 2 + ((y - 256) / 150) ** 2 < 1
        img[body] = 40
        for cx in (180, 332):
            lung = ((x - cx) / 55) ** 2 + ((y - 240) / (80 + 10 * z)) ** 2 < 1
            img[lung] = -850
        img[((x - 256) / 18) ** 2 + ((y - 340) / 18) ** 2 < 1] = 700
        img += rng.normal(0, 12, img.shape)
        px = (img + 1024).clip(-1024, 3071).astype(np.int16)

        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(seed), "sop", str(i)])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20260101"
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "120000"
        ds.AccessionNumber = "ACC0001"
        ds.Modality = "CT"
        ds.Manufacturer = "DICOMNODE BENCH"
        ds.InstitutionName = "Loopback Hospital"
        ds.ReferringPhysicianName = "Doe^Jane"
        ds.StationName = "BENCH01"
        ds.StudyDescription = "Benchmark chest"
        ds.SeriesDescription = "Axial 1mm"
        ds.PatientName = "Bench^Patient"
        ds.PatientID = "BENCH0001"
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "O"
        ds.PatientAge = "056Y"
        ds.BodyPartExamined = "CHEST"
        ds.SliceThickness = "1.0"
        ds.KVP = "120"
        ds.ProtocolName = "CHEST ROUTINE"
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [-250.0, -250.0, float(-i)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.FrameOfReferenceUID = frame
        ds.SliceLocation = float(-i)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = 512
        ds.PixelSpacing = [0.9765625, 0.9765625]
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.PixelData = px.tobytes()
        ds.save_as(os.path.join(out, f"ct{i:05d}.dcm"), enforce_file_format=True)
    print(f"gen_ct: wrote {n} slices to {out}", file=sys.stderr)

if __name__ == "__main__":
    main()
