import Foundation

/// A Python tool (numpy + zlib + struct; Pillow only where named) that writes test images the
/// Swift side must read: TIFF files in every layout the node's reader claims (its own small TIFF
/// writer, independent of our decoder), LZW TIFFs written by Pillow's libtiff, and slide-like
/// images (tissue-coloured blobs on a white background) as PNG or TIFF with their ground truth.
///
///     python3 slides.py tiff-suite DIR          → manifest JSON of DIR/<name>.tif + <name>.raw
///     python3 slides.py pillow-suite DIR        → the same for Pillow-written TIFFs (LZW…)
///     python3 slides.py slide OUT W H SEED FMT  → JSON: blobs, tissue fraction; FMT png|tiff16|tiff8|jpeg
public enum SlideImageScript {
    /// Writes the script into `folder` and returns its path.
    public static func install(in folder: String) throws -> String {
        let path = folder + "/slides.py"
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    public static let source = #"""
import json, struct, sys, zlib
import numpy as np

# ---------------------------------------------------------------- TIFF writer (TIFF 6.0)

def packbits(data):
    """TIFF 6 section 9: runs of 2+ equal bytes as repeats, the rest as literals."""
    out = bytearray(); i = 0; n = len(data)
    while i < n:
        j = i
        while j + 1 < n and data[j + 1] == data[i] and j - i < 127:
            j += 1
        if j > i:
            out.append((256 - (j - i)) & 0xFF); out.append(data[i]); i = j + 1
            continue
        start = i; i += 1
        while i < n and i - start < 128 and not (i + 1 < n and data[i + 1] == data[i]):
            i += 1
        out.append(i - start - 1); out += data[start:i]
    return bytes(out)

def write_tiff(path, arr, endian='<', compression=1, predictor=1, tile=None, rows_per_strip=None,
               planar=1, photometric=None, colormap=None):
    h, w = arr.shape[:2]
    spp = 1 if arr.ndim == 2 else arr.shape[2]
    bps = arr.dtype.itemsize * 8
    if photometric is None:
        photometric = 2 if spp >= 3 else 1
    data = arr.reshape(h, w, spp).astype(arr.dtype.newbyteorder(endian))
    planes = [data[:, :, s:s + 1] for s in range(spp)] if planar == 2 else [data]
    blocks = []
    for plane in planes:
        c = plane.shape[2]
        if tile:
            tw, th = tile
            for ty in range(0, h, th):
                for tx in range(0, w, tw):
                    b = np.zeros((th, tw, c), dtype=plane.dtype)
                    part = plane[ty:ty + th, tx:tx + tw]
                    b[:part.shape[0], :part.shape[1]] = part
                    blocks.append(b)
        else:
            for y in range(0, h, rows_per_strip):
                blocks.append(plane[y:y + rows_per_strip])
    encoded = []
    for b in blocks:
        if predictor == 2:
            native = b.astype(b.dtype.newbyteorder('='))
            d = native.copy()
            d[:, 1:] = native[:, 1:] - native[:, :-1]
            b = d.astype(b.dtype)
        raw = b.tobytes()
        if compression == 1:
            encoded.append(raw)
        elif compression in (8, 32946):
            encoded.append(zlib.compress(raw, 6))
        elif compression == 32773:
            row = len(raw) // b.shape[0]
            encoded.append(b''.join(packbits(raw[r * row:(r + 1) * row]) for r in range(b.shape[0])))
        else:
            raise ValueError(compression)
    e = endian
    body = bytearray(b'II*\x00' if e == '<' else b'MM\x00*') + b'\0\0\0\0'
    offsets = []
    for chunk in encoded:
        offsets.append(len(body)); body += chunk
        if len(body) % 2: body += b'\0'
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bps] * spp), (259, 3, [compression]),
               (262, 3, [photometric]), (277, 3, [spp]), (284, 3, [planar])]
    if predictor != 1: entries.append((317, 3, [predictor]))
    if spp in (2, 4): entries.append((338, 3, [2]))
    if colormap is not None: entries.append((320, 3, list(colormap)))
    if tile:
        entries += [(322, 3, [tile[0]]), (323, 3, [tile[1]]), (324, 4, offsets), (325, 4, [len(c) for c in encoded])]
    else:
        entries += [(273, 4, offsets), (278, 4, [rows_per_strip]), (279, 4, [len(c) for c in encoded])]
    entries.sort()
    fmt = {3: 'H', 4: 'I'}
    ifd_pos = len(body) + 0
    extra_pos = ifd_pos + 2 + 12 * len(entries) + 4
    ifd = bytearray(struct.pack(e + 'H', len(entries))); extra = bytearray()
    for tag, typ, values in entries:
        packed = struct.pack(e + fmt[typ] * len(values), *values)
        if len(packed) <= 4:
            ifd += struct.pack(e + 'HHI', tag, typ, len(values)) + packed.ljust(4, b'\0')
        else:
            ifd += struct.pack(e + 'HHII', tag, typ, len(values), extra_pos + len(extra))
            extra += packed
            if len(extra) % 2: extra += b'\0'
    ifd += b'\0\0\0\0'
    body[4:8] = struct.pack(e + 'I', ifd_pos)
    with open(path, 'wb') as f:
        f.write(bytes(body) + bytes(ifd) + bytes(extra))

def expected_bytes(arr):
    """The decoder's output: samples interleaved, 16-bit big-endian."""
    return arr.astype(arr.dtype.newbyteorder('>')).tobytes()

def tiff_suite(folder):
    rng = np.random.default_rng(7)
    def smooth(h, w, c, dtype):
        y, x = np.mgrid[0:h, 0:w]
        top = np.iinfo(dtype).max
        base = [(x * 37 + y * 11 + k * 50) % (top + 1) for k in range(c)]
        a = np.stack(base, axis=-1).astype(np.int64)
        a = (a + rng.integers(0, 3, size=a.shape)) % (top + 1)
        a = a.astype(dtype)
        return a[:, :, 0] if c == 1 else a
    cases = [
        ('gray8-le-none-strips', smooth(41, 75, 1, np.uint8), dict(endian='<', rows_per_strip=7)),
        ('gray8-be-none-onestrip', smooth(20, 33, 1, np.uint8), dict(endian='>', rows_per_strip=20)),
        ('rgb8-be-packbits-strips', smooth(30, 50, 3, np.uint8), dict(endian='>', compression=32773, rows_per_strip=4)),
        ('rgb8-le-deflate-pred-tiles', smooth(45, 70, 3, np.uint8), dict(compression=8, predictor=2, tile=(32, 16))),
        ('gray16-le-deflate-pred-tiles', smooth(41, 75, 1, np.uint16), dict(compression=8, predictor=2, tile=(32, 32))),
        ('gray16-be-none-tiles', smooth(33, 40, 1, np.uint16), dict(endian='>', tile=(16, 16))),
        ('gray16-be-packbits-strips', smooth(25, 19, 1, np.uint16), dict(endian='>', compression=32773, rows_per_strip=6)),
        ('gray16-le-deflate32946-strips', smooth(25, 19, 1, np.uint16), dict(compression=32946, rows_per_strip=10)),
        ('rgb8-le-planar-deflate-strips', smooth(22, 31, 3, np.uint8), dict(compression=8, planar=2, rows_per_strip=5)),
        ('rgba8-le-none-strips', smooth(12, 13, 4, np.uint8), dict(rows_per_strip=3)),
        ('rgb16-be-deflate-pred-strips', smooth(18, 21, 3, np.uint16), dict(endian='>', compression=8, predictor=2, rows_per_strip=8)),
    ]
    manifest = []
    for name, arr, kw in cases:
        write_tiff(f'{folder}/{name}.tif', arr, **kw)
        open(f'{folder}/{name}.raw', 'wb').write(expected_bytes(arr))
        manifest.append(dict(name=name, width=arr.shape[1], height=arr.shape[0],
                             channels=1 if arr.ndim == 2 else arr.shape[2], bitDepth=arr.dtype.itemsize * 8))
    # WhiteIsZero: stored inverted, read back as BlackIsZero.
    arr = smooth(16, 24, 1, np.uint8)
    write_tiff(f'{folder}/gray8-whiteiszero.tif', 255 - arr, photometric=0, rows_per_strip=16)
    open(f'{folder}/gray8-whiteiszero.raw', 'wb').write(expected_bytes(arr))
    manifest.append(dict(name='gray8-whiteiszero', width=24, height=16, channels=1, bitDepth=8))
    # Palette: indices through a 16-bit ColorMap.
    idx = smooth(10, 12, 1, np.uint8)
    cmap = np.stack([np.arange(256) * 257, (255 - np.arange(256)) * 257, (np.arange(256) * 7 % 256) * 257])
    write_tiff(f'{folder}/palette8.tif', idx, photometric=3, rows_per_strip=10, colormap=cmap.reshape(-1).tolist())
    rgb = np.stack([cmap[k][idx] >> 8 for k in range(3)], axis=-1).astype(np.uint8)
    open(f'{folder}/palette8.raw', 'wb').write(rgb.tobytes())
    manifest.append(dict(name='palette8', width=12, height=10, channels=3, bitDepth=8))
    # A JPEG-compressed header: must be refused by name.
    write_tiff(f'{folder}/jpeg-claimed.tif', smooth(8, 8, 1, np.uint8), rows_per_strip=8)
    b = bytearray(open(f'{folder}/jpeg-claimed.tif', 'rb').read())
    ifd = struct.unpack('<I', b[4:8])[0]
    for i in range(struct.unpack('<H', b[ifd:ifd + 2])[0]):
        e = ifd + 2 + 12 * i
        if struct.unpack('<H', b[e:e + 2])[0] == 259: b[e + 8:e + 10] = struct.pack('<H', 7)
    open(f'{folder}/jpeg-claimed.tif', 'wb').write(bytes(b))
    print(json.dumps(manifest))

def pillow_suite(folder):
    from PIL import Image
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:57, 0:83]
    rgb = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], axis=-1).astype(np.uint8)
    rgb[20:30, 10:60] = rng.integers(0, 256, size=(10, 50, 3))
    gray16 = ((x * 700 + y * 300) % 65536).astype(np.uint16)
    gray16[5:15, 5:40] = rng.integers(0, 65536, size=(10, 35))
    cases = [('pil-rgb8-lzw', rgb, 'tiff_lzw'), ('pil-gray16-lzw', gray16, 'tiff_lzw'),
             ('pil-rgb8-deflate', rgb, 'tiff_adobe_deflate'), ('pil-rgb8-packbits', rgb, 'packbits'),
             ('pil-gray8-lzw', rgb[:, :, 1].copy(), 'tiff_lzw')]
    manifest = []
    for name, arr, compression in cases:
        img = Image.fromarray(arr)
        img.save(f'{folder}/{name}.tif', compression=compression)
        open(f'{folder}/{name}.raw', 'wb').write(expected_bytes(arr))
        manifest.append(dict(name=name, width=arr.shape[1], height=arr.shape[0],
                             channels=1 if arr.ndim == 2 else arr.shape[2], bitDepth=arr.dtype.itemsize * 8))
    print(json.dumps(manifest))

# ---------------------------------------------------------------- slide-like images

def write_png(path, arr):
    h, w = arr.shape[:2]
    c = 1 if arr.ndim == 2 else arr.shape[2]
    depth = arr.dtype.itemsize * 8
    rows = arr.astype(arr.dtype.newbyteorder('>')).reshape(h, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 1)) + chunk(b'IEND', b''))

def slide(out, w, h, seed, fmt):
    """Tissue-like blobs (lobed ellipses in H&E pinks and purples, with darker nuclei) on a
    near-white background; blobs sit in separate cells of a grid so none touch."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 246, np.int16) + rng.integers(-6, 8, size=(h, w, 1), dtype=np.int16)
    mask = np.zeros((h, w), bool)
    cols, rows = 3, 2
    blobs = []
    cw, ch = w // cols, h // rows
    for r in range(rows):
        for c in range(cols):
            if (r, c) == (1, 2):
                continue  # one empty cell: not every field holds tissue
            cx = c * cw + cw // 2 + int(rng.integers(-cw // 10, cw // 10))
            cy = r * ch + ch // 2 + int(rng.integers(-ch // 10, ch // 10))
            rx = int(cw * rng.uniform(0.25, 0.38)); ry = int(ch * rng.uniform(0.25, 0.38))
            x0, x1, y0, y1 = cx - rx - 2, cx + rx + 2, cy - ry - 2, cy + ry + 2
            yy, xx = np.mgrid[y0:y1, x0:x1]
            angle = np.arctan2((yy - cy) / ry, (xx - cx) / rx)
            radius = 1 - 0.12 * (1 + np.sin(3 * angle + rng.uniform(0, 6)))  # three lobes
            inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= radius ** 2
            mask[y0:y1, x0:x1] |= inside
            tone = np.array([rng.integers(185, 215), rng.integers(95, 135), rng.integers(150, 190)], np.int16)
            texture = rng.integers(-18, 18, size=inside.shape + (1,), dtype=np.int16)
            region = img[y0:y1, x0:x1]
            region[inside] = (tone + texture)[inside]
            nuclei = inside & (rng.random(inside.shape) < 0.02)
            region[nuclei] = np.array([90, 50, 120], np.int16)
            ys, xs = np.nonzero(inside)
            blobs.append(dict(x0=int(xs.min() + x0), x1=int(xs.max() + x0), y0=int(ys.min() + y0), y1=int(ys.max() + y0),
                              cx=cx, cy=cy))
    img = np.clip(img, 0, 255).astype(np.uint8)
    if fmt == 'png':
        write_png(out, img)
    elif fmt == 'tiff16':
        gray = (img.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
        write_tiff(out, np.round(gray * 257).astype(np.uint16), compression=8, predictor=2, tile=(256, 256))
    elif fmt == 'tiff8':
        write_tiff(out, img, compression=32773, rows_per_strip=64)
    elif fmt == 'jpeg':
        from PIL import Image  # baseline JPEG, 4:2:0, as scanners and cameras write them
        Image.fromarray(img).save(out, format='JPEG', quality=90)
    else:
        raise ValueError(fmt)
    print(json.dumps(dict(width=w, height=h, blobs=blobs, tissue_fraction=float(mask.mean()))))

if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'tiff-suite': tiff_suite(sys.argv[2])
    elif cmd == 'pillow-suite': pillow_suite(sys.argv[2])
    elif cmd == 'slide': slide(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else: raise SystemExit('unknown command ' + cmd)
"""#
}
