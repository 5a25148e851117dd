import Foundation
import Codec

/// The image formats `read/file` returns (seed 004 `return_format`).
enum ImageOutputFormat: String, CaseIterable {
    case png, jpeg, gif

    init?(parameter: String) {
        switch parameter.lowercased() {
        case "png": self = .png
        case "jpeg", "jpg": self = .jpeg
        case "gif": self = .gif
        default: return nil
        }
    }

    /// As the seed's `ImageFormat` field shows it.
    var label: String { rawValue.uppercased() }

    /// PNG is lossless; JPEG is baseline JFIF at quality 90 without chroma subsampling (rendered
    /// frames carry thin annotations); GIF keeps gray exactly and quantizes color to 256 entries.
    func encode(_ image: PNGImage) throws -> [UInt8] {
        switch self {
        case .png: return try PNGEncoder.encode(image, level: 6)
        case .jpeg: return try JPEGEncoder.encode(image, quality: 90)
        case .gif: return try GIFEncoder.encode(image)
        }
    }
}

/// Every frame of a data set rendered for display (Codec's `FrameRenderer`: the grayscale
/// pipeline of PS3.3 C.11 or the color models) and encoded in the requested format, base64.
enum FrameImages {
    /// The images, or why there are none (no pixel data, or a compression we cannot decode):
    /// the metadata is still worth answering with.
    static func render(_ file: DicomFile, as format: ImageOutputFormat) -> (images: [String], error: String?) {
        let ds = file.dataSet
        guard DicomFieldValues.isPixelDataPresent(ds) else { return ([], nil) }
        let frames = max(ds.string(Tag(0x0028_0008)).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1, 1)
        var images: [String] = []
        do {
            for frame in 0..<frames {
                let image = try FrameRenderer.render(ds, transferSyntax: file.transferSyntax, options: RenderOptions(frame: frame))
                images.append(Data(try format.encode(image)).base64EncodedString())
            }
        } catch {
            return ([], "the pixel data cannot be rendered: \(error)")
        }
        return (images, nil)
    }
}

extension DicomFieldValues {
    static func isPixelDataPresent(_ ds: DataSet) -> Bool {
        ds.contains(.pixelData) || ds.contains(Tag(0x7FE0_0008)) || ds.contains(Tag(0x7FE0_0009))
    }
}
