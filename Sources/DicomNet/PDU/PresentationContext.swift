/// A presentation context proposed in A-ASSOCIATE-RQ (PS3.8 9.3.2.2): one abstract syntax and
/// the transfer syntaxes the requestor can use for it.
public struct PresentationContextProposal: Sendable, Hashable {
    /// Odd, 1-255 (PS3.8 9.3.2.2); not checked here, that is the association's business.
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }

    // Item 20H: ID, 3 reserved bytes, one abstract syntax sub-item (30H), transfer syntax sub-items (40H).
    func encodeItem(into out: inout [UInt8]) {
        PDUWriter.item(0x20, into: &out) { out in
            let start = out.count - 4
            out.append(contentsOf: [id, 0, 0, 0])
            PDUWriter.item(0x30, into: &out) { PDUText.append(abstractSyntax, to: &$0) }
            for ts in transferSyntaxes {
                PDUWriter.item(0x40, into: &out, limit: start + 4 + 0xFFFF) { PDUText.append(ts, to: &$0) }
            }
        }
    }

    /// Decoding checks structure only: a missing abstract syntax decodes as "" and no transfer
    /// syntax as [], which negotiation then rejects per context rather than failing the whole
    /// association. Sub-items of other types are skipped (PS3.8 9.3.1).
    static func decodeItem(_ r: inout PDUReader) throws -> PresentationContextProposal {
        let id = try r.u8("presentation context ID")
        try r.skip(3, "presentation context reserved bytes")
        var abstractSyntax: String?
        var transferSyntaxes: [String] = []
        while !r.isAtEnd {
            var (type, value) = try r.item(in: "presentation context \(id)")
            switch type {
            case 0x30 where abstractSyntax == nil: abstractSyntax = PDUText.uid(value.rest())
            case 0x40: transferSyntaxes.append(PDUText.uid(value.rest()))
            default: break
            }
        }
        return PresentationContextProposal(id: id, abstractSyntax: abstractSyntax ?? "", transferSyntaxes: transferSyntaxes)
    }
}

/// The acceptor's answer to one proposed presentation context in A-ASSOCIATE-AC (PS3.8 9.3.3.2).
public struct PresentationContextResult: Sendable, Hashable {
    /// PS3.8 Table 9-18, result/reason field.
    public enum Result: UInt8, Sendable, Hashable {
        case acceptance = 0, userRejection = 1, noReason = 2, abstractSyntaxNotSupported = 3, transferSyntaxesNotSupported = 4
    }

    public var id: UInt8
    public var result: Result
    /// The accepted transfer syntax; "" when rejected.
    public var transferSyntax: String

    public init(id: UInt8, result: Result, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }

    // Item 21H: ID, reserved, result/reason, reserved, one transfer syntax sub-item (40H).
    // A rejected context still carries the sub-item, empty, as DCMTK and pynetdicom send it.
    func encodeItem(into out: inout [UInt8]) {
        PDUWriter.item(0x21, into: &out) { out in
            out.append(contentsOf: [id, 0, result.rawValue, 0])
            PDUWriter.item(0x40, into: &out) { out in
                if result == .acceptance { PDUText.append(transferSyntax, to: &out) }
            }
        }
    }

    static func decodeItem(_ r: inout PDUReader) throws -> PresentationContextResult {
        let id = try r.u8("presentation context ID")
        try r.skip(1, "presentation context reserved byte")
        let at = r.index
        let code = try r.u8("presentation context result")
        guard let result = Result(rawValue: code) else {
            throw r.error("presentation context \(id): result/reason \(code) is not 0-4", at: at)
        }
        try r.skip(1, "presentation context reserved byte")
        var transferSyntax: String?
        while !r.isAtEnd {
            var (type, value) = try r.item(in: "presentation context \(id)")
            if type == 0x40, transferSyntax == nil { transferSyntax = PDUText.uid(value.rest()) }
        }
        // PS3.8 Table 9-18: when not accepted the transfer syntax "shall not be tested".
        return PresentationContextResult(id: id, result: result, transferSyntax: result == .acceptance ? transferSyntax ?? "" : "")
    }
}
