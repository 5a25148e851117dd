import Foundation
import Codec

/// A stored DICOM image as the 16-bit grayscale PNG the filters service works on, with the
/// `ImageInfo` that describes it.
///
/// PNG samples are the frame's stored values (PS3.3 C.7.6.3.1.4) with no map applied: signed
/// values shifted by 2^(Bits Stored - 1) so they are unsigned, and MONOCHROME1 inverted so that
/// 0 is black as PNG gray means (PS3.3 C.7.6.3.1.2). Hence the identity map in `lutInfo`
/// (gamma 1, slope 1, offset 0), `totalGrays` = 2^Bits Stored, and the smallest and largest
/// sample as `minimumGray` / `maximumGray`. `binning` is `Binned2x2` when Detector Binning
/// (0018,701A) says 2\2, else `Unbinned`.
enum ModalityImagePNG {
    static let detectorBinning = Tag(0x0018_701A)

    static func make(path: String, imageId: Int64) throws -> (png: [UInt8], width: Int, height: Int, info: ImageInfo) {
        let file: DicomFile
        do { file = try DicomFile.read(path: path) } catch { throw NodeError.storage("image \(imageId) cannot be read: \(error)") }
        let ds = file.dataSet
        guard ds[.pixelData] != nil else { throw NodeError.invalidData("image \(imageId) has no pixel data") }
        let d: PixelDescription
        let values: [Int]
        do {
            (d, _) = try FrameRenderer.decodedFrame(ds, transferSyntax: file.transferSyntax, frame: 0)
            guard d.isMonochrome, d.samplesPerPixel == 1, !d.isFloat else {
                throw NodeError.invalidData("image \(imageId) is \(d.photometricInterpretation)\(d.isFloat ? " float" : ""), not integer grayscale: it cannot be a 16-bit grayscale PNG")
            }
            guard d.bitsStored <= 16 else {
                throw NodeError.invalidData("image \(imageId) has \(d.bitsStored) bits stored: more than a 16-bit PNG holds")
            }
            values = try FrameRenderer.storedValues(ds, transferSyntax: file.transferSyntax, frame: 0)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError.invalidData("image \(imageId) cannot be decoded: \(error)")
        }
        let top = (1 << d.bitsStored) - 1
        let shift = d.isSigned ? 1 << (d.bitsStored - 1) : 0
        let invert = d.photometricInterpretation == "MONOCHROME1"
        var pixels = [UInt8](repeating: 0, count: values.count * 2)
        var lo = Int.max, hi = Int.min
        for (i, v) in values.enumerated() {
            var s = min(max(v + shift, 0), top)
            if invert { s = top - s }
            lo = min(lo, s); hi = max(hi, s)
            pixels[2 * i] = UInt8(s >> 8)
            pixels[2 * i + 1] = UInt8(s & 0xFF)
        }
        let png = try PNGEncoder.encode(PNGImage(width: d.columns, height: d.rows, bitDepth: 16, channels: 1, pixels: pixels))
        // Detector Binning is DS (PS3.3 C.8.11.4): row and column binning.
        let binned = ds.strings(detectorBinning)?.compactMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) == [2, 2]
        let info = ImageInfo(acquisitionInfo: .init(binning: binned ? "Binned2x2" : "Unbinned"),
                             lutInfo: .init(gamma: 1, slope: 1, offset: 0, totalGrays: top + 1,
                                            minimumGray: values.isEmpty ? 0 : lo, maximumGray: values.isEmpty ? 0 : hi))
        return (png, d.columns, d.rows, info)
    }
}
