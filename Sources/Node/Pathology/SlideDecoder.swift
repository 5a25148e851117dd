import Foundation
import Codec

/// Reads an uploaded slide image into pixels, whatever the name says: the format is taken from
/// the file's first bytes (PNG signature, JPEG SOI marker, TIFF header).
enum SlideDecoder {
    enum Format: String { case png = "PNG", jpeg = "JPEG", tiff = "TIFF" }

    static func format(_ bytes: UnsafeRawBufferPointer) -> Format? {
        if bytes.count >= 8 && bytes[0] == 0x89 && bytes[1] == 0x50 && bytes[2] == 0x4E && bytes[3] == 0x47 { return .png }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if TIFFDecoder.isTIFF(bytes) { return .tiff }
        return nil
    }

    /// The whole image (rows top to bottom, samples interleaved, 16-bit samples big-endian).
    /// The file is memory-mapped, not read into the heap.
    static func decode(path: String, maxPixels: Int) throws -> (image: PNGImage, format: Format) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw NodeError.storage("cannot read the uploaded image: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { bytes -> (PNGImage, Format) in
            guard let format = format(bytes) else {
                throw NodeError.badRequest("the uploaded file is neither PNG, JPEG nor TIFF")
            }
            do {
                switch format {
                case .png: return (try PNGDecoder.decode(bytes, maxPixels: maxPixels), format)
                case .tiff: return (try TIFFDecoder.decode(bytes, maxPixels: maxPixels), format)
                // 12-bit JPEG samples are scaled to 8 bits: tiles and tissue detection work on 8-bit data.
                case .jpeg: return (try JPEGDecoder.decode(bytes, maxPixels: maxPixels).pngImage, format)
                }
            } catch let e as NodeError {
                throw e
            } catch {
                throw NodeError.badRequest("the uploaded \(format.rawValue) image cannot be decoded: \(error)")
            }
        }
    }
}
