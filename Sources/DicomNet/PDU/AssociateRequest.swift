/// A-ASSOCIATE-RQ PDU (PS3.8 9.3.2): the requestor proposes an association.
public struct AssociateRequest: Sendable, Hashable {
    /// Bit 0 set for this version of the protocol (PS3.8 9.3.2); checked by the acceptor, not here.
    public var protocolVersion: UInt16
    /// Leading and trailing spaces are not significant (PS3.8 Table 9-11); at most 16 characters.
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextProposal]
    public var userInformation: UserInformation

    public init(protocolVersion: UInt16 = 1, calledAETitle: String, callingAETitle: String,
                applicationContextName: String = "1.2.840.10008.3.1.1.1",
                presentationContexts: [PresentationContextProposal], userInformation: UserInformation) {
        self.protocolVersion = protocolVersion
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContextName = applicationContextName
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }

    func encode(into out: inout [UInt8]) {
        AssociateLayout.encode(.associateRQ, protocolVersion: protocolVersion, called: calledAETitle, calling: callingAETitle,
                               applicationContext: applicationContextName, into: &out) { out in
            for pc in presentationContexts { pc.encodeItem(into: &out) }
            userInformation.encodeItem(into: &out)
        }
    }

    static func decode(_ r: inout PDUReader) throws -> AssociateRequest {
        var contexts: [PresentationContextProposal] = []
        let common = try AssociateLayout.decode(&r, pdu: "A-ASSOCIATE-RQ") { type, value in
            guard type == 0x20 else { return false }
            contexts.append(try PresentationContextProposal.decodeItem(&value))
            return true
        }
        return AssociateRequest(protocolVersion: common.protocolVersion, calledAETitle: common.called, callingAETitle: common.calling,
            applicationContextName: common.applicationContext, presentationContexts: contexts,
            userInformation: common.userInformation)
    }
}

/// A-ASSOCIATE-AC PDU (PS3.8 9.3.3): the acceptor's answer, one result per proposed context.
public struct AssociateAccept: Sendable, Hashable {
    public var protocolVersion: UInt16
    /// PS3.8 Table 9-17: sent as received in the RQ, not tested on receipt.
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextResult]
    public var userInformation: UserInformation

    public init(protocolVersion: UInt16 = 1, calledAETitle: String, callingAETitle: String,
                applicationContextName: String = "1.2.840.10008.3.1.1.1",
                presentationContexts: [PresentationContextResult], userInformation: UserInformation) {
        self.protocolVersion = protocolVersion
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContextName = applicationContextName
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }

    func encode(into out: inout [UInt8]) {
        AssociateLayout.encode(.associateAC, protocolVersion: protocolVersion, called: calledAETitle, calling: callingAETitle,
                               applicationContext: applicationContextName, into: &out) { out in
            for pc in presentationContexts { pc.encodeItem(into: &out) }
            userInformation.encodeItem(into: &out)
        }
    }

    static func decode(_ r: inout PDUReader) throws -> AssociateAccept {
        var contexts: [PresentationContextResult] = []
        let common = try AssociateLayout.decode(&r, pdu: "A-ASSOCIATE-AC") { type, value in
            guard type == 0x21 else { return false }
            contexts.append(try PresentationContextResult.decodeItem(&value))
            return true
        }
        return AssociateAccept(protocolVersion: common.protocolVersion, calledAETitle: common.called, callingAETitle: common.calling,
            applicationContextName: common.applicationContext, presentationContexts: contexts,
            userInformation: common.userInformation)
    }
}

/// The layout RQ and AC share (PS3.8 Tables 9-11 and 9-17): protocol version, 2 reserved bytes,
/// called and calling AE titles (16 bytes each), 32 reserved bytes, then variable items:
/// application context (10H), presentation contexts (20H in RQ, 21H in AC), user information (50H).
enum AssociateLayout {
    static let fixedLength = 68

    static func encode(_ type: PDUType, protocolVersion: UInt16, called: String, calling: String, applicationContext: String,
                       into out: inout [UInt8], items: (inout [UInt8]) -> Void) {
        let start = out.count
        out.append(type.rawValue)
        out.append(0)
        out.appendU32(0)
        out.appendU16(protocolVersion)
        out.appendU16(0)
        PDUText.appendAETitle(called, to: &out)
        PDUText.appendAETitle(calling, to: &out)
        out.append(contentsOf: repeatElement(0, count: 32))
        PDUWriter.item(0x10, into: &out) { PDUText.append(applicationContext, to: &$0) }
        items(&out)
        let length = out.count - start - PDU.headerLength
        precondition(length <= Int(UInt32.max), "\(type) of \(length) bytes exceeds the 32-bit PDU length")
        out.setU32(UInt32(length), at: start + 2)
    }

    /// The fields RQ and AC share.
    struct Common {
        var protocolVersion: UInt16 = 0
        var called = "", calling = "", applicationContext = ""
        var userInformation = UserInformation()
    }

    /// Decodes the fixed fields and walks the variable items. `context` handles the presentation
    /// context items of the PDU and returns false for items it does not own. Items of other types
    /// are skipped (PS3.8 9.3.1: "items of unrecognized types shall be ignored"); a missing item
    /// leaves its default, for the association to judge; a repeated one keeps its first instance.
    static func decode(_ r: inout PDUReader, pdu: String, context: (UInt8, inout PDUReader) throws -> Bool) throws -> Common {
        var c = Common()
        guard r.remaining >= fixedLength else {
            throw r.error("\(pdu) body of \(r.remaining) bytes is shorter than its \(fixedLength) fixed bytes")
        }
        c.protocolVersion = try r.u16("protocol version")
        try r.skip(2, "reserved")
        c.called = PDUText.aeTitle(try r.take(16, "called AE title"))
        c.calling = PDUText.aeTitle(try r.take(16, "calling AE title"))
        try r.skip(32, "reserved")
        var sawContext = false, sawUserInfo = false
        while !r.isAtEnd {
            var (type, value) = try r.item(in: pdu)
            if try context(type, &value) { continue }
            switch type {
            case 0x10 where !sawContext:
                sawContext = true
                c.applicationContext = PDUText.uid(value.rest())
            case 0x50 where !sawUserInfo:
                sawUserInfo = true
                c.userInformation = try UserInformation.decodeItem(&value)
            default:
                break
            }
        }
        return c
    }
}
