/// PDU types of the DICOM Upper Layer protocol (PS3.8 9.3.1, Table 9-1).
public enum PDUType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case associateRQ = 1, associateAC = 2, associateRJ = 3, dataTF = 4, releaseRQ = 5, releaseRP = 6, abort = 7

    public var description: String {
        switch self {
        case .associateRQ: return "A-ASSOCIATE-RQ"
        case .associateAC: return "A-ASSOCIATE-AC"
        case .associateRJ: return "A-ASSOCIATE-RJ"
        case .dataTF: return "P-DATA-TF"
        case .releaseRQ: return "A-RELEASE-RQ"
        case .releaseRP: return "A-RELEASE-RP"
        case .abort: return "A-ABORT"
        }
    }

    /// A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT have a fixed 4-byte body (PS3.8 9.3.4, 9.3.6-9.3.8).
    var fixedBodyLength: UInt32? {
        switch self {
        case .associateRJ, .releaseRQ, .releaseRP, .abort: return 4
        default: return nil
        }
    }
}

/// One Upper Layer PDU (PS3.8 9.3): pure encoding and decoding, no I/O. Every PDU starts with a
/// 6-byte header — type, reserved byte, 32-bit big-endian length of what follows.
public enum PDU: Sendable, Hashable {
    case associateRQ(AssociateRequest)
    case associateAC(AssociateAccept)
    case associateRJ(AssociateReject)
    case dataTF(DataTF)
    case releaseRQ
    case releaseRP
    case abort(Abort)

    public static let headerLength = 6

    public var type: PDUType {
        switch self {
        case .associateRQ: return .associateRQ
        case .associateAC: return .associateAC
        case .associateRJ: return .associateRJ
        case .dataTF: return .dataTF
        case .releaseRQ: return .releaseRQ
        case .releaseRP: return .releaseRP
        case .abort: return .abort
        }
    }

    /// The whole PDU, header included.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the whole PDU, header included, to `out`.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .associateRQ(let rq): rq.encode(into: &out)
        case .associateAC(let ac): ac.encode(into: &out)
        case .associateRJ(let rj): rj.encode(into: &out)
        case .dataTF(let data): data.encode(into: &out)
        // PS3.8 Tables 9-24 and 9-25: header and 4 reserved bytes.
        case .releaseRQ, .releaseRP:
            out.append(type.rawValue)
            out.append(0)
            out.appendU32(4)
            out.append(contentsOf: [0, 0, 0, 0])
        case .abort(let a): a.encode(into: &out)
        }
    }

    /// Reads the 6-byte header: the PDU type (validated, 1-7) and the length of the body that follows.
    /// The caller bounds the length (by the negotiated maximum, PS3.8 D.1) before reading the body.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws -> (type: UInt8, length: UInt32) {
        guard bytes.count >= headerLength else {
            throw PDUError(offset: bytes.count, reason: "PDU header needs \(headerLength) bytes, got \(bytes.count)")
        }
        let type = bytes[0]
        // Byte 1 is reserved and not tested (PS3.8 9.3.1).
        let length = UInt32(bytes[2]) << 24 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 8 | UInt32(bytes[5])
        guard let known = PDUType(rawValue: type) else {
            // PS3.8 9.3.8: an unknown PDU type is answered with A-ABORT "unrecognized-PDU".
            throw PDUError(offset: 0, reason: "unknown PDU type 0x\(hex(type))", abort: .unrecognizedPDU)
        }
        if let fixed = known.fixedBodyLength, length != fixed {
            throw PDUError(offset: 2, reason: "\(known) length \(length), must be \(fixed)")
        }
        return (type, length)
    }

    /// Decodes a PDU body (the bytes after the header). P-DATA-TF data slices share storage with `body`.
    public static func decode(type: UInt8, body: ArraySlice<UInt8>) throws -> PDU {
        guard let known = PDUType(rawValue: type) else {
            throw PDUError(offset: 0, reason: "unknown PDU type 0x\(hex(type))", abort: .unrecognizedPDU)
        }
        if let fixed = known.fixedBodyLength, body.count != Int(fixed) {
            throw PDUError(offset: 2, reason: "\(known) length \(body.count), must be \(fixed)")
        }
        var r = PDUReader(body: body)
        switch known {
        case .associateRQ: return .associateRQ(try AssociateRequest.decode(&r))
        case .associateAC: return .associateAC(try AssociateAccept.decode(&r))
        case .associateRJ: return .associateRJ(try AssociateReject.decode(&r))
        case .dataTF: return .dataTF(try DataTF.decode(&r))
        case .releaseRQ: return .releaseRQ   // 4 reserved bytes, not tested
        case .releaseRP: return .releaseRP
        case .abort: return .abort(try Abort.decode(&r))
        }
    }

    /// Decodes one complete PDU, header included; the header length must match `bytes` exactly.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> PDU {
        let (type, length) = try bytes.withUnsafeBytes { try parseHeader($0) }
        let available = bytes.count - headerLength
        guard UInt64(length) == UInt64(available) else {
            throw PDUError(offset: 2, reason: "PDU length \(length) but \(available) bytes follow the header")
        }
        return try decode(type: type, body: bytes.dropFirst(headerLength))
    }

    public static func decode(_ bytes: [UInt8]) throws -> PDU {
        try decode(bytes[...])
    }
}
