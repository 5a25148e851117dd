/// SCP/SCU role selection (PS3.7 D.3.3.4, item 54H): in the RQ, the roles the requestor proposes
/// for itself; in the AC, the roles the acceptor agrees to.
public struct RoleSelection: Sendable, Hashable {
    public var sopClassUID: String
    public var scuRole: Bool
    public var scpRole: Bool

    public init(sopClassUID: String, scuRole: Bool, scpRole: Bool) {
        self.sopClassUID = sopClassUID
        self.scuRole = scuRole
        self.scpRole = scpRole
    }
}

/// SOP class extended negotiation (PS3.7 D.3.3.5, item 56H): service-class specific bytes.
public struct ExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    public var info: [UInt8]

    public init(sopClassUID: String, info: [UInt8]) {
        self.sopClassUID = sopClassUID
        self.info = info
    }
}

/// SOP class common extended negotiation (PS3.7 D.3.3.6, item 57H; RQ only).
public struct CommonExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    public var serviceClassUID: String
    public var relatedGeneralSOPClassUIDs: [String]

    public init(sopClassUID: String, serviceClassUID: String, relatedGeneralSOPClassUIDs: [String] = []) {
        self.sopClassUID = sopClassUID
        self.serviceClassUID = serviceClassUID
        self.relatedGeneralSOPClassUIDs = relatedGeneralSOPClassUIDs
    }
}

/// User identity negotiation, requestor side (PS3.7 D.3.3.7.1, item 58H).
public struct UserIdentityRequest: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        case username = 1, usernameAndPasscode = 2, kerberos = 3, saml = 4, jwt = 5
    }

    public var kind: Kind
    public var positiveResponseRequested: Bool
    /// Username, Kerberos ticket, SAML assertion or JWT, as the kind says.
    public var primaryField: [UInt8]
    /// The passcode for `.usernameAndPasscode`; empty otherwise.
    public var secondaryField: [UInt8]

    public init(kind: Kind, positiveResponseRequested: Bool, primaryField: [UInt8], secondaryField: [UInt8] = []) {
        self.kind = kind
        self.positiveResponseRequested = positiveResponseRequested
        self.primaryField = primaryField
        self.secondaryField = secondaryField
    }
}

/// Asynchronous operations window (PS3.7 D.3.3.3, item 53H); 0 means unlimited.
public struct AsyncOperationsWindow: Sendable, Hashable {
    public var invoked: UInt16
    public var performed: UInt16

    public init(invoked: UInt16, performed: UInt16) {
        self.invoked = invoked
        self.performed = performed
    }
}

/// The user information item (PS3.8 9.3.2.3 / 9.3.3.3, item 50H) and its sub-items (PS3.7 Annex D.3.3,
/// PS3.8 Annex D.1). RQ and AC share it: `userIdentityResponse` belongs to the AC only.
public struct UserInformation: Sendable, Hashable {
    /// A sub-item we do not know, kept so a proxy or log can see it and re-encoding keeps it.
    public struct UnknownItem: Sendable, Hashable {
        public var type: UInt8
        public var value: [UInt8]

        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }
    }

    /// The largest P-DATA-TF PDU length this side receives (PS3.8 D.1, item 51H); 0 = unlimited.
    /// Decodes as 0 when the peer sent no maximum length sub-item.
    public var maxPDULength: UInt32
    /// Item 52H (PS3.7 D.3.3.2); "" when absent, and then not sent.
    public var implementationClassUID: String
    /// Item 55H (PS3.7 D.3.3.2); 1-16 characters by the standard, not checked here.
    public var implementationVersionName: String?
    public var asyncOperationsWindow: AsyncOperationsWindow?
    public var roleSelections: [RoleSelection]
    public var extendedNegotiations: [ExtendedNegotiation]
    public var commonExtendedNegotiations: [CommonExtendedNegotiation]
    public var userIdentityRequest: UserIdentityRequest?
    /// The server response of user identity negotiation (PS3.7 D.3.3.7.2, item 59H; AC only).
    /// `[]` sends the sub-item with an empty response (identity accepted, nothing to return).
    public var userIdentityResponse: [UInt8]?
    public var unknownItems: [UnknownItem]

    public init(maxPDULength: UInt32 = 0, implementationClassUID: String = "", implementationVersionName: String? = nil,
                asyncOperationsWindow: AsyncOperationsWindow? = nil, roleSelections: [RoleSelection] = [],
                extendedNegotiations: [ExtendedNegotiation] = [], commonExtendedNegotiations: [CommonExtendedNegotiation] = [],
                userIdentityRequest: UserIdentityRequest? = nil, userIdentityResponse: [UInt8]? = nil,
                unknownItems: [UnknownItem] = []) {
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.asyncOperationsWindow = asyncOperationsWindow
        self.roleSelections = roleSelections
        self.extendedNegotiations = extendedNegotiations
        self.commonExtendedNegotiations = commonExtendedNegotiations
        self.userIdentityRequest = userIdentityRequest
        self.userIdentityResponse = userIdentityResponse
        self.unknownItems = unknownItems
    }

    /// Sub-items go out in increasing type order, as DCMTK sends them (PS3.8 9.3.1 asks for
    /// increasing item types). All must fit the item's 16-bit length; one that would not is left out.
    func encodeItem(into out: inout [UInt8]) {
        PDUWriter.item(0x50, into: &out) { out in
            let limit = out.count + 0xFFFF
            func sub(_ type: UInt8, byte1: UInt8 = 0, _ value: (inout [UInt8]) -> Void) {
                PDUWriter.item(type, byte1: byte1, into: &out, limit: limit, value)
            }
            sub(0x51) { $0.appendU32(maxPDULength) }
            if !implementationClassUID.isEmpty {
                sub(0x52) { PDUText.append(implementationClassUID, to: &$0) }
            }
            if let w = asyncOperationsWindow {
                sub(0x53) { $0.appendU16(w.invoked); $0.appendU16(w.performed) }
            }
            for role in roleSelections {
                sub(0x54) { out in
                    PDUWriter.field16(role.sopClassUID, into: &out)
                    out.append(role.scuRole ? 1 : 0)
                    out.append(role.scpRole ? 1 : 0)
                }
            }
            if let name = implementationVersionName {
                sub(0x55) { PDUText.append(name, to: &$0) }
            }
            for ext in extendedNegotiations {
                sub(0x56) { out in
                    PDUWriter.field16(ext.sopClassUID, into: &out)
                    out.append(contentsOf: ext.info)
                }
            }
            // Byte 1 of item 57H is the sub-item version, 0 (PS3.7 Table D.3-12).
            for common in commonExtendedNegotiations {
                sub(0x57, byte1: 0) { out in
                    PDUWriter.field16(common.sopClassUID, into: &out)
                    PDUWriter.field16(common.serviceClassUID, into: &out)
                    let start = out.count
                    out.appendU16(0)
                    for uid in common.relatedGeneralSOPClassUIDs { PDUWriter.field16(uid, into: &out) }
                    out.setU16(UInt16(truncatingIfNeeded: out.count - start - 2), at: start)
                }
            }
            if let id = userIdentityRequest {
                sub(0x58) { out in
                    out.append(id.kind.rawValue)
                    out.append(id.positiveResponseRequested ? 1 : 0)
                    PDUWriter.field16(id.primaryField, into: &out)
                    PDUWriter.field16(id.secondaryField, into: &out)
                }
            }
            if let response = userIdentityResponse {
                sub(0x59) { PDUWriter.field16(response, into: &$0) }
            }
            for item in unknownItems {
                sub(item.type) { $0.append(contentsOf: item.value) }
            }
        }
    }

    /// Decodes the value of a user information item. Lengths are checked strictly; a sub-item
    /// that occurs more than once where the standard allows one keeps its first instance.
    static func decodeItem(_ r: inout PDUReader) throws -> UserInformation {
        var info = UserInformation()
        var seen = Set<UInt8>()
        while !r.isAtEnd {
            var (type, v) = try r.item(in: "user information")
            let first = seen.insert(type).inserted
            switch type {
            case 0x51:
                let n = try v.u32("maximum length")
                try v.expectEnd("maximum length sub-item")
                if first { info.maxPDULength = n }
            case 0x52:
                if first { info.implementationClassUID = PDUText.uid(v.rest()) }
            case 0x53:
                let w = AsyncOperationsWindow(invoked: try v.u16("operations invoked"), performed: try v.u16("operations performed"))
                try v.expectEnd("asynchronous operations window sub-item")
                if first { info.asyncOperationsWindow = w }
            case 0x54:
                let uid = PDUText.uid(try v.field16("role selection SOP class UID"))
                let scu = try v.u8("SCU role"), scp = try v.u8("SCP role")
                try v.expectEnd("role selection sub-item")
                // 0 = not supported / rejected, 1 = supported / accepted (PS3.7 Table D.3-9).
                info.roleSelections.append(RoleSelection(sopClassUID: uid, scuRole: scu != 0, scpRole: scp != 0))
            case 0x55:
                if first { info.implementationVersionName = PDUText.uid(v.rest()) }
            case 0x56:
                let uid = PDUText.uid(try v.field16("extended negotiation SOP class UID"))
                info.extendedNegotiations.append(ExtendedNegotiation(sopClassUID: uid, info: Array(v.rest())))
            case 0x57:
                let sop = PDUText.uid(try v.field16("common extended negotiation SOP class UID"))
                let service = PDUText.uid(try v.field16("common extended negotiation service class UID"))
                var related = try v.sub(Int(try v.u16("related general SOP class identification length")),
                                        "related general SOP class identification")
                var uids: [String] = []
                while !related.isAtEnd { uids.append(PDUText.uid(try related.field16("related general SOP class UID"))) }
                try v.expectEnd("common extended negotiation sub-item")
                info.commonExtendedNegotiations.append(
                    CommonExtendedNegotiation(sopClassUID: sop, serviceClassUID: service, relatedGeneralSOPClassUIDs: uids))
            case 0x58:
                let whole = v
                let kindCode = try v.u8("user identity type")
                guard let kind = UserIdentityRequest.Kind(rawValue: kindCode) else {
                    // A kind newer than PS3.7 knows of: keep it as unknown, so the acceptor
                    // simply does not answer it, as for any identity it cannot check.
                    var all = whole
                    info.unknownItems.append(UnknownItem(type: type, value: Array(all.rest())))
                    continue
                }
                let positive = try v.u8("positive response requested")
                let primary = try v.field16("user identity primary field")
                // The secondary length is always sent (0 unless passcode); tolerate its absence.
                let secondary = v.isAtEnd ? [] : try v.field16("user identity secondary field")
                try v.expectEnd("user identity sub-item")
                if info.userIdentityRequest == nil {
                    info.userIdentityRequest = UserIdentityRequest(kind: kind, positiveResponseRequested: positive != 0,
                                                                   primaryField: Array(primary), secondaryField: Array(secondary))
                }
            case 0x59:
                let response = try v.field16("user identity server response")
                try v.expectEnd("user identity response sub-item")
                if first { info.userIdentityResponse = Array(response) }
            default:
                info.unknownItems.append(UnknownItem(type: type, value: Array(v.rest())))
            }
        }
        return info
    }
}
