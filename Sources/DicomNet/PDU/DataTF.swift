/// One presentation data value: a fragment of a DIMSE command or data set (PS3.8 9.3.5.1, Annex E).
public struct PresentationDataValue: Sendable, Hashable {
    public var contextID: UInt8
    /// Message control header bit 0: command (1) or data set (0) fragment (PS3.8 E.2).
    public var isCommand: Bool
    /// Message control header bit 1: the last fragment of the command or data set.
    public var isLast: Bool
    /// The fragment. After decoding it shares storage with the received PDU body.
    public var data: ArraySlice<UInt8>

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, data: ArraySlice<UInt8>) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.data = data
    }

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, data: [UInt8]) {
        self.init(contextID: contextID, isCommand: isCommand, isLast: isLast, data: data[...])
    }

    var controlHeader: UInt8 { (isCommand ? 1 : 0) | (isLast ? 2 : 0) }
}

/// P-DATA-TF PDU (PS3.8 9.3.5): one or more presentation data values.
public struct DataTF: Sendable, Hashable {
    public var values: [PresentationDataValue]

    public init(values: [PresentationDataValue]) {
        self.values = values
    }

    /// The PDU length field: each PDV is a 4-byte item length, context ID, control header, data.
    var bodyLength: Int { values.reduce(0) { $0 + 6 + $1.data.count } }

    func encode(into out: inout [UInt8]) {
        let length = bodyLength
        precondition(length <= Int(UInt32.max), "P-DATA-TF of \(length) bytes exceeds the 32-bit PDU length")
        out.reserveCapacity(out.count + PDU.headerLength + length)
        out.append(PDUType.dataTF.rawValue)
        out.append(0)
        out.appendU32(UInt32(length))
        for v in values {
            out.appendU32(UInt32(v.data.count + 2))
            out.append(v.contextID)
            out.append(v.controlHeader)
            out.append(contentsOf: v.data)
        }
    }

    static func decode(_ r: inout PDUReader) throws -> DataTF {
        // PS3.8 9.3.5: "one or more" PDV items.
        guard !r.isAtEnd else { throw r.error("P-DATA-TF without presentation data value items") }
        var values: [PresentationDataValue] = []
        while !r.isAtEnd {
            let start = r.index
            let length = try r.u32("PDV item length")
            // The item length counts the context ID and the control header: at least 2.
            guard length >= 2 else { throw r.error("PDV item length \(length) is less than 2", at: start) }
            guard length <= UInt32(r.remaining) else {
                throw r.error("PDV item length \(length) runs past the end of the PDU (\(r.remaining) bytes left)", at: start)
            }
            let contextID = try r.u8("PDV context ID")
            // Bits 2-7 of the message control header are reserved (PS3.8 E.2) and not tested.
            let control = try r.u8("PDV message control header")
            let data = try r.take(Int(length) - 2, "PDV data")
            values.append(PresentationDataValue(contextID: contextID, isCommand: control & 1 != 0,
                                                isLast: control & 2 != 0, data: data))
        }
        return DataTF(values: values)
    }
}

/// Fast path for sending P-DATA-TF: the PDU header and one PDV header in front of
/// `payloadLength` bytes that the caller writes next, so a large data set is never copied into
/// a PDU buffer. The negotiated maximum PDU length (PS3.8 D.1) bounds the PDU length field,
/// which includes the 6-byte PDV header: a payload may be at most `maxPDULength - 6` bytes.
public enum PDataHeader {
    /// PDU header (6) plus PDV item header (4 length, 1 context ID, 1 control header).
    public static let length = 12

    /// The largest PDV payload in one P-DATA-TF PDU under a negotiated maximum length
    /// (0 means unlimited, PS3.8 D.1; we then stay within the 32-bit PDU length). At least 1,
    /// so a sender always makes progress even against a nonsensical limit.
    public static func maxPayloadLength(maxPDULength: UInt32) -> Int {
        let limit = maxPDULength == 0 ? UInt32.max : maxPDULength
        return max(Int(limit) - 6, 1)
    }

    public static func encode(contextID: UInt8, isCommand: Bool, isLast: Bool, payloadLength: Int, into out: inout [UInt8]) {
        precondition(payloadLength >= 0 && payloadLength <= Int(UInt32.max) - 6, "PDV payload length \(payloadLength) out of range")
        out.append(PDUType.dataTF.rawValue)
        out.append(0)
        out.appendU32(UInt32(payloadLength + 6))
        out.appendU32(UInt32(payloadLength + 2))
        out.append(contextID)
        out.append((isCommand ? 1 : 0) | (isLast ? 2 : 0))
    }
}
