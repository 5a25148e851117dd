/// How a data set is encoded on the wire or on disk (PS3.5 10 and Annex A).
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    public let uid: String
    public let isExplicitVR: Bool
    public let isLittleEndian: Bool
    /// The whole data set after the File Meta group is a raw DEFLATE stream (PS3.5 A.5).
    public let isDeflated: Bool
    /// Pixel Data is encapsulated: an offset table item, then fragment items (PS3.5 A.4).
    public let isEncapsulated: Bool

    public init(uid: String) {
        // UIDs are padded to even length with NUL (PS3.5 9.1); trim only when there is padding.
        let padded = uid.utf8.last.map { $0 == 0 || $0 == 0x20 } ?? false || uid.utf8.first.map { $0 == 0 || $0 == 0x20 } ?? false
        let u = padded ? uid.trimmingCharacters(in: CharacterSet(charactersIn: "\0 ")) : uid
        self.uid = u
        switch u {
        case TransferSyntax.implicitVRLittleEndianUID:
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (false, true, false, false)
        case TransferSyntax.explicitVRLittleEndianUID:
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, true, false, false)
        case TransferSyntax.explicitVRBigEndianUID:
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, false, false, false)
        case TransferSyntax.deflatedExplicitVRLittleEndianUID:
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, true, true, false)
        case "1.2.840.10008.1.2.4.94": // JPIP Referenced: pixel data is a URL, not encapsulated (PS3.5 A.6)
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, true, false, false)
        case "1.2.840.10008.1.2.4.95": // JPIP Referenced Deflate (PS3.5 A.7)
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, true, true, false)
        default:
            // Every other standard transfer syntax (JPEG, JPEG-LS, JPEG 2000, RLE, MPEG, HEVC, HTJ2K,
            // Encapsulated Uncompressed) is Explicit VR Little Endian with encapsulated pixel data;
            // private ones are assumed to be the same, as DCMTK and pydicom do.
            (isExplicitVR, isLittleEndian, isDeflated, isEncapsulated) = (true, true, false, true)
        }
    }

    public static let implicitVRLittleEndianUID = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndianUID = "1.2.840.10008.1.2.1"
    public static let deflatedExplicitVRLittleEndianUID = "1.2.840.10008.1.2.1.99"
    public static let explicitVRBigEndianUID = "1.2.840.10008.1.2.2"

    public static let implicitVRLittleEndian = TransferSyntax(uid: implicitVRLittleEndianUID)
    public static let explicitVRLittleEndian = TransferSyntax(uid: explicitVRLittleEndianUID)
    public static let explicitVRBigEndian = TransferSyntax(uid: explicitVRBigEndianUID)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: deflatedExplicitVRLittleEndianUID)

    /// The native (uncompressed) syntaxes we can transcode between.
    public var isNative: Bool { !isEncapsulated }
    /// Known to the UID registry as a transfer syntax.
    public var isStandard: Bool { UIDRegistry.entry(for: uid)?.type == "Transfer Syntax" }
    public var name: String { UIDRegistry.entry(for: uid)?.name ?? uid }
    public var description: String { name }

    /// The plain encoding of the data set bytes (ignores deflate and encapsulation).
    public var encoding: Encoding { Encoding(explicitVR: isExplicitVR, littleEndian: isLittleEndian) }
}

/// The two switches that decide how elements are laid out (PS3.5 7.1).
public struct Encoding: Hashable, Sendable {
    public var explicitVR: Bool
    public var littleEndian: Bool
    public init(explicitVR: Bool, littleEndian: Bool) {
        self.explicitVR = explicitVR
        self.littleEndian = littleEndian
    }
    public static let implicitLittle = Encoding(explicitVR: false, littleEndian: true)
    public static let explicitLittle = Encoding(explicitVR: true, littleEndian: true)
    public static let explicitBig = Encoding(explicitVR: true, littleEndian: false)
}

import Foundation
