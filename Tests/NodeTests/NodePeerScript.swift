// The Python peer of the NodeTests (pydicom + pynetdicom), written into each test's folder at run
// time by `NodePeer.script(in:)`; kept in a Swift string so the test target has no unhandled files.
let nodePeerScript = #"""
"""Peer helper of the NodeTests (pydicom + pynetdicom): makes test data, pushes and queries over
DICOM, reads the node's index. One subcommand per job; output is JSON or one line per event."""
import json, os, random, sqlite3, struct, sys

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
PT = "1.2.840.10008.5.1.4.1.1.128"
CLASSES = {"CT": CT, "MR": MR, "PT": PT}


def dataset_offset(b):
    """Where the data set starts in a Part 10 file (after preamble, DICM and the group 2 elements)."""
    if b[128:132] != b"DICM":
        raise ValueError("no DICM prefix")
    i = 132
    while i + 8 <= len(b):
        group = struct.unpack("<H", b[i:i + 2])[0]
        if group != 2:
            break
        vr = b[i + 4:i + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR", b"OD", b"OF", b"OL", b"OV", b"SV", b"UV"):
            i += 12 + struct.unpack("<I", b[i + 8:i + 12])[0]
        else:
            i += 8 + struct.unpack("<H", b[i + 6:i + 8])[0]
    return i


def make(sop_class, sop, study, series, patient, pid, modality, number, size, rng, description="", series_number=1):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop
    ds.StudyDate = ds.SeriesDate = "20260101"
    ds.StudyTime = ds.SeriesTime = "120000"
    ds.AccessionNumber = "ACC" + pid
    ds.Modality = modality
    ds.Manufacturer = "NODETESTS"
    ds.StudyDescription = "Generated " + pid
    ds.SeriesDescription = description or (modality + " series")
    ds.PatientName = patient
    ds.PatientID = pid
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = number
    code = Dataset()
    code.CodeValue = "T-D3000"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "Chest"
    ds.AnatomicRegionSequence = [code]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(rng.getrandbits(8) for _ in range(size * size * 2))
    return ds


def cmd_gen(args):
    """gen OUT --seed S --patient NAME --pid ID --series CT:12,PT:8 [--size 64]: one study."""
    out = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    seed = opts.get("--seed", "1")
    size = int(opts.get("--size", "64"))
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    study = generate_uid(entropy_srcs=[seed, "study"])
    n = 0
    for si, part in enumerate(opts.get("--series", "CT:20").split(",")):
        modality, count = part.split(":")
        series = generate_uid(entropy_srcs=[seed, "series", str(si)])
        for i in range(int(count)):
            sop = generate_uid(entropy_srcs=[seed, "sop", str(si), str(i)])
            ds = make(CLASSES.get(modality, CT), sop, study, series, opts.get("--patient", "Gen^Patient"),
                      opts.get("--pid", "GEN001"), modality, i + 1, size, rng, series_number=si + 1)
            ds.save_as(os.path.join(out, "%s_%s_%05d.dcm" % (seed, modality, n)), enforce_file_format=True)
            n += 1
    print(json.dumps({"study": study, "count": n}))


def cmd_patients(args):
    """patients OUT NAME|ID ...: one small CT instance per patient (names with any characters)."""
    out = args[0]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    for i, spec in enumerate(args[1:]):
        name, pid = spec.split("|")
        sop = generate_uid(entropy_srcs=["patients", str(i), spec])
        ds = make(CT, sop, generate_uid(entropy_srcs=["patients-study", spec]), generate_uid(entropy_srcs=["patients-series", spec]),
                  name, pid, "CT", 1, 8, rng)
        ds.save_as(os.path.join(out, "p%03d.dcm" % i), enforce_file_format=True)


def _patch_meta(path, old, new):
    """Replaces a UID of the same length in the File Meta group only (pydicom's writer would
    make the meta group agree with the data set again)."""
    assert len(old) == len(new)
    b = open(path, "rb").read()
    off = dataset_offset(b)
    meta = b[:off]
    assert old.encode() in meta
    open(path, "wb").write(meta.replace(old.encode(), new.encode()) + b[off:])


def cmd_bad(args):
    """bad OUT: instances the node must refuse. The files are pushed as they are (chunked send),
    so the command's Affected SOP Class/Instance UID comes from the File Meta group."""
    out = args[0]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(3)
    study, series = generate_uid(entropy_srcs=["bad", "study"]), generate_uid(entropy_srcs=["bad", "series"])
    # 1. the data set's SOP Instance UID is not the one the command announces
    inner = generate_uid(entropy_srcs=["bad", "inner"])
    announced = inner[:-1] + ("1" if inner[-1] != "1" else "2")
    path = os.path.join(out, "1_instance_mismatch.dcm")
    make(CT, inner, study, series, "Bad^One", "BAD1", "CT", 1, 8, rng).save_as(path, enforce_file_format=True)
    _patch_meta(path, inner, announced)
    # 2. the data set's SOP Class UID is MR, the command (from the meta group) says CT
    path = os.path.join(out, "2_class_mismatch.dcm")
    make(MR, generate_uid(entropy_srcs=["bad", "class"]), study, series, "Bad^Two", "BAD2", "MR", 2, 8, rng).save_as(path, enforce_file_format=True)
    _patch_meta(path, MR, CT)
    # 3. garbage after a valid File Meta group: an element whose length runs past the end
    good = make(CT, generate_uid(entropy_srcs=["bad", "garbage"]), study, series, "Bad^Three", "BAD3", "CT", 3, 8, rng)
    path = os.path.join(out, "3_garbage.dcm")
    good.save_as(path, enforce_file_format=True)
    b = open(path, "rb").read()
    off = dataset_offset(b)
    garbage = struct.pack("<HH", 0x0008, 0x0016) + b"UI" + struct.pack("<H", 26) + b"1.2.840.10008.5.1.4.1.1.2\0"
    garbage += struct.pack("<HH", 0x0010, 0x0010) + b"PN" + struct.pack("<H", 200) + b"Truncated^Value"
    open(path, "wb").write(b[:off] + garbage)
    # 4. a good one last: the association goes on after refusals
    make(CT, generate_uid(entropy_srcs=["bad", "good"]), study, series, "Good^Four", "GOOD4", "CT", 4, 8, rng).save_as(
        os.path.join(out, "4_good.dcm"), enforce_file_format=True)


def cmd_dump(args):
    """dump FILE...: top-level attributes of each file as JSON (keyword: string value)."""
    result = []
    for f in args:
        ds = pydicom.dcmread(f, force=True, stop_before_pixels=True)
        d = {"_file": f}
        for e in list(getattr(ds, "file_meta", None) or []) + list(ds):
            if e.VR == "SQ" or not e.keyword:
                continue
            v = e.value
            if isinstance(v, (bytes, bytearray)):
                continue
            if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
                d[e.keyword] = "\\".join(str(x) for x in v)
            else:
                d[e.keyword] = "" if v is None else str(v)
        result.append(d)
    print(json.dumps(result))


def _norm(v):
    if isinstance(v, pydicom.sequence.Sequence):
        return [_items(i) for i in v]
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return [_norm(x) for x in v]
    if isinstance(v, pydicom.valuerep.PersonName):
        return str(v).rstrip("^ ")
    if isinstance(v, str):
        return v.rstrip(" \0")
    return v


def _items(ds):
    return {e.tag: _norm(e.value) for e in ds if e.tag.element != 0 and e.tag.group != 2 and e.tag != 0xFFFCFFFC}


def cmd_compare(args):
    """compare A1 B1 [A2 B2 ...]: the data sets of each pair of files element by element (values
    decoded, so the transfer syntax, group lengths, sequence length encoding and trailing padding
    do not count). Prints one list of differences per pair (empty when equal) as JSON."""
    result = []
    for fa, fb in zip(args[0::2], args[1::2]):
        ia, ib = (_items(pydicom.dcmread(f, force=True)) for f in (fa, fb))
        diffs = []
        for tag in sorted(set(ia) | set(ib)):
            va, vb = ia.get(tag, "<absent>"), ib.get(tag, "<absent>")
            if va != vb:
                diffs.append("%s: %s != %s" % (tag, repr(va)[:80], repr(vb)[:80]))
        result.append(diffs)
    print(json.dumps(result))


def cmd_index(args):
    """index DATA: the images of the node's index (sop, storage key, transfer syntax) as JSON."""
    c = sqlite3.connect("file:%s/index.sqlite?mode=ro" % args[0], uri=True)
    rows = c.execute("SELECT sop_instance_uid, storage_key, transfer_syntax_uid FROM images").fetchall()
    counts = {t: c.execute("SELECT count(*) FROM %s" % t).fetchone()[0] for t in ("patients", "studies", "series", "images")}
    pending = [r[0] for r in c.execute("SELECT storage_key FROM pending_file_deletions")]
    print(json.dumps({"images": [{"sop": r[0], "key": r[1], "ts": r[2]} for r in rows], "counts": counts, "pending": pending}))


def cmd_parse(args):
    """parse FILE...: the files that pydicom cannot read completely (pixel data included)."""
    bad = []
    for f in args:
        try:
            ds = pydicom.dcmread(f)
            for e in ds:
                _ = e.value
            _ = ds.get("PixelData")
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            bad.append("%s: %s" % (f, e))
    print(json.dumps(bad))


def _association(host, port, called, contexts):
    from pynetdicom import AE
    ae = AE(ae_title="NODETESTS")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    for sop_class, ts in contexts:
        ae.add_requested_context(sop_class, ts)
    assoc = ae.associate(host, int(port), ae_title=called)
    if not assoc.is_established:
        print("NOASSOC", flush=True)
        sys.exit(2)
    # Without TCP_NODELAY every C-STORE waits ~40 ms (Nagle against the peer's delayed ACK).
    import socket
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # pynetdicom 3.0 race: the association's reactor thread polls the DIMSE queue without
    # blocking and can take the response meant for send_c_store() (its pause handshake has a
    # window), log "Received unexpected C-STORE service message" and drop it; send_c_store()
    # then waits out the DIMSE timeout. Seen against DCMTK storescp as well, more often under
    # load. We only send requests, so the reactor never needs a message: it gets none.
    get_msg = assoc.dimse.get_msg
    assoc.dimse.get_msg = lambda block=False: get_msg(block=True) if block else (None, None)
    return assoc


def cmd_push(args):
    """push HOST PORT AE [--shuffle SEED] FILE|DIR...: C-STORE of each file exactly as it is on
    disk (pynetdicom's chunked send), one association. Prints `ACK <sop> <status> <file>` per response
    as it arrives (flushed), `ABORT <sop>` when the association dies, then `DONE`."""
    from pynetdicom import _config
    from pydicom.filereader import read_file_meta_info
    _config.STORE_SEND_CHUNKED_DATASET = True
    host, port, called = args[:3]
    rest = args[3:]
    seed = None
    if rest[:1] == ["--shuffle"]:
        seed, rest = rest[1], rest[2:]
    files = []
    for p in rest:
        files += sorted(os.path.join(p, f) for f in os.listdir(p)) if os.path.isdir(p) else [p]
    if seed is not None:
        random.Random(seed).shuffle(files)
    metas = [(f, read_file_meta_info(f)) for f in files]
    contexts = sorted({(m.MediaStorageSOPClassUID, m.TransferSyntaxUID) for _, m in metas})
    assoc = _association(host, port, called, contexts)
    for f, m in metas:
        sop = m.MediaStorageSOPInstanceUID
        try:
            status = assoc.send_c_store(f)
        except Exception as e:  # noqa: BLE001
            print("ABORT %s %s" % (sop, e), flush=True)
            break
        if "Status" not in status:
            print("ABORT %s no-response" % sop, flush=True)
            break
        print("ACK %s 0x%04X %s" % (sop, status.Status, f), flush=True)
    if assoc.is_established:
        assoc.release()
    print("DONE", flush=True)


def cmd_find(args):
    """find HOST PORT AE MODEL LEVEL KEY=VALUE... [-- MODEL LEVEL KEY=VALUE...]...: C-FINDs over
    one association (MODEL: patient or study root). Prints, per query, {"status": final status,
    "matches": [attributes...]} as a JSON list."""
    from pynetdicom.sop_class import PatientRootQueryRetrieveInformationModelFind as PR
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as SR
    host, port, called = args[:3]
    queries, current = [], []
    for a in args[3:]:
        if a == "--":
            queries.append(current)
            current = []
        else:
            current.append(a)
    queries.append(current)
    assoc = _association(host, port, called, [(PR, ExplicitVRLittleEndian), (SR, ExplicitVRLittleEndian)])
    results = []
    for q_args in queries:
        model = PR if q_args[0] == "patient" else SR
        q = Dataset()
        q.QueryRetrieveLevel = q_args[1]
        for kv in q_args[2:]:
            k, _, v = kv.partition("=")
            setattr(q, k, v)
        matches, final = [], None
        for status, ident in assoc.send_c_find(q, model):
            if "Status" not in status:
                final = None
                break
            if status.Status in (0xFF00, 0xFF01):
                matches.append({e.keyword: str(e.value) for e in ident if e.keyword})
            else:
                final = status.Status
        results.append({"status": final, "matches": matches})
    assoc.release()
    print(json.dumps(results))


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1].replace("-", "_")](sys.argv[2:])
"""#
