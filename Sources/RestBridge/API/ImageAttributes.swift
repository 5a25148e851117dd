import Foundation
import Codec

/// Seed `imageAttribute` and `imageInformation`.
struct ImageAttributeJSON: Encodable {
    var group, element, name, vr: String
    var length, multiplicity, depth: Int
    var path, value: String
}

struct ImageInformationJSON: Encodable {
    var numberOfFrames, frameIndex, minimumPixelValue, maximumPixelValue: Int
}

enum ImageAttributes {
    /// Every element, depth first through sequences; binary values longer than 20 bytes show as
    /// "< Binary data >" (as Slicebox), pixel data never loaded.
    static func list(_ ds: DataSet) -> [ImageAttributeJSON] {
        var out: [ImageAttributeJSON] = []
        walk(ds, prefix: [], into: &out)
        return out
    }

    private static func hex(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    private static func walk(_ ds: DataSet, prefix: [(Tag, TagPath.ItemSelector)], into out: inout [ImageAttributeJSON]) {
        for e in ds.elements {
            let path = TagPath(sequences: prefix, tag: e.tag)
            let name = DataDictionary.entry(for: e.tag)?.keyword ?? (e.tag.group % 2 == 1 ? "Private" : "Unknown")
            var value = ""
            var multiplicity = 1
            if let items = e.items {
                multiplicity = items.count
            } else if e.tag == .pixelData || e.encapsulated != nil || { if case .deferred = e.value { return true }; return false }() {
                value = "< Binary data >"
            } else if e.vr.isString {
                let strings = e.strings(characterSet: ds.characterSet)
                multiplicity = strings.count
                value = strings.joined(separator: "\\")
            } else if [.US, .SS, .UL, .SL, .UV, .SV].contains(e.vr) {
                let v = e.integers(); multiplicity = v.count
                value = v.count * 8 > 160 ? "< Binary data >" : v.map(String.init).joined(separator: "\\")
            } else if [.FL, .FD].contains(e.vr) {
                let v = e.doubles(); multiplicity = v.count
                value = v.count * 8 > 160 ? "< Binary data >" : v.map { String($0) }.joined(separator: "\\")
            } else if e.vr == .AT {
                let v = e.tagValues(); multiplicity = v.count
                value = v.map { "(\(hex($0.group)),\(hex($0.element)))" }.joined(separator: "\\")
            } else {
                let b = e.bytes
                value = b.count > 20 ? "< Binary data >" : b.map { String(format: "%02X", $0) }.joined(separator: " ")
            }
            out.append(ImageAttributeJSON(group: hex(e.tag.group), element: hex(e.tag.element), name: name, vr: e.vr.description,
                                          length: e.valueLength, multiplicity: multiplicity, depth: prefix.count,
                                          path: path.description, value: value))
            if let items = e.items {
                for (i, item) in items.enumerated() { walk(item, prefix: prefix + [(e.tag, .index(i))], into: &out) }
            }
        }
    }

    /// Number of Frames (0028,0008), 1 when absent or not a positive number.
    static func frameCount(_ ds: DataSet) -> Int {
        max(ds.string(.numberOfFrames).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1, 1)
    }

    /// Frames and the stored value range of the first frame (pixel data decoded); when the
    /// pixels cannot be decoded, Smallest/Largest Image Pixel Value (0028,0106/0107) or 0.
    static func information(_ file: DicomFile) throws -> ImageInformationJSON {
        let ds = file.dataSet
        let frames = frameCount(ds)
        var lo = 0, hi = 0
        if let values = try? FrameRenderer.storedValues(ds, transferSyntax: file.transferSyntax, frame: 0), let mn = values.min(), let mx = values.max() {
            lo = mn; hi = mx
        } else {
            lo = ds.int(Tag(0x0028_0106)) ?? 0
            hi = ds.int(Tag(0x0028_0107)) ?? 0
        }
        return ImageInformationJSON(numberOfFrames: frames, frameIndex: 1, minimumPixelValue: lo, maximumPixelValue: hi)
    }
}

/// Resizing of rendered frames (the `imageheight` of `/png`), bilinear, aspect ratio kept.
enum ImageScaling {
    static func scaled(_ image: PNGImage, height: Int) -> PNGImage {
        guard image.bitDepth == 8, image.height > 0, image.width > 0 else { return image }
        let width = max(1, Int((Double(image.width) * Double(height) / Double(image.height)).rounded()))
        let ch = image.channels
        var out = [UInt8](repeating: 0, count: width * height * ch)
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let fy = max(0, (Double(y) + 0.5) * sy - 0.5)
                let y0 = min(Int(fy), image.height - 1), y1 = min(y0 + 1, image.height - 1)
                let wy = fy - Double(y0)
                for x in 0..<width {
                    let fx = max(0, (Double(x) + 0.5) * sx - 0.5)
                    let x0 = min(Int(fx), image.width - 1), x1 = min(x0 + 1, image.width - 1)
                    let wx = fx - Double(x0)
                    for c in 0..<ch {
                        let a = Double(src[(y0 * image.width + x0) * ch + c]), b = Double(src[(y0 * image.width + x1) * ch + c])
                        let d = Double(src[(y1 * image.width + x0) * ch + c]), e = Double(src[(y1 * image.width + x1) * ch + c])
                        let v = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy
                        out[(y * width + x) * ch + c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        }
        return PNGImage(width: width, height: height, bitDepth: 8, channels: ch, pixels: out)
    }
}
