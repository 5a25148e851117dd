import Codec

/// A presentation context both sides agreed on (PS3.8 9.3.3.2).
public struct AcceptedPresentationContext: Sendable, Hashable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntax: String
    public init(id: UInt8, abstractSyntax: String, transferSyntax: String) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntax = transferSyntax
    }
}

/// What an acceptor (SCP) agrees to: its AE title, who may call, which SOP classes in which
/// transfer syntaxes, in its order of preference (PS3.8 9.3.3.2: the acceptor picks one of the
/// proposed transfer syntaxes; we pick by our order, not the requestor's).
public struct AcceptorPolicy: Sendable {
    public var aeTitle: String
    /// Refuse requests addressed to another AE title (A-ASSOCIATE-RJ reason 7).
    public var checkCalledAETitle: Bool = true
    /// nil: anyone may call; else only these calling AE titles (others: reason 3).
    public var allowedCallingAETitles: Set<String>?
    /// Abstract syntax UID → accepted transfer syntax UIDs, most preferred first.
    public var supportedSyntaxes: [String: [String]]
    /// The largest P-DATA-TF PDU we receive (PS3.8 D.1); at least 128 KiB by default.
    public var maxPDULength: UInt32 = 256 * 1024
    /// Decides on user identity negotiation (PS3.7 D.3.3.7); nil accepts any or none.
    public var userIdentityCheck: (@Sendable (UserIdentityRequest?) -> Bool)?

    public init(aeTitle: String, supportedSyntaxes: [String: [String]]) {
        self.aeTitle = aeTitle
        self.supportedSyntaxes = supportedSyntaxes
    }

    /// Native transfer syntaxes first (explicit LE preferred: no dictionary lookups, keeps VRs),
    /// then every other transfer syntax of the standard, so compressed images are stored as received.
    public static let storageTransferSyntaxes: [String] = {
        let native = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID,
                      TransferSyntax.deflatedExplicitVRLittleEndianUID, TransferSyntax.explicitVRBigEndianUID]
        let others = UIDRegistry.entries(ofType: "Transfer Syntax").map(\.uid).filter { !native.contains($0) }
        return native + others
    }()

    /// Verification plus every storage SOP class of the standard in every transfer syntax.
    public static func storageSCP(aeTitle: String) -> AcceptorPolicy {
        var syntaxes: [String: [String]] = [verificationSOPClass: [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID, TransferSyntax.explicitVRBigEndianUID]]
        for sop in UIDRegistry.storageSOPClasses { syntaxes[sop.uid] = storageTransferSyntaxes }
        return AcceptorPolicy(aeTitle: aeTitle, supportedSyntaxes: syntaxes)
    }

    /// The decision on an A-ASSOCIATE-RQ: accept (with per-context results) or reject with the reason.
    public func negotiate(_ rq: AssociateRequest) -> Result<(AssociateAccept, [AcceptedPresentationContext]), AssociateReject> {
        // PS3.8 9.3.2: bit 0 of the protocol version must be set.
        guard rq.protocolVersion & 1 == 1 else { return .failure(.protocolVersionNotSupported) }
        guard rq.applicationContextName == dicomApplicationContext else { return .failure(.applicationContextNotSupported) }
        if checkCalledAETitle && rq.calledAETitle != aeTitle { return .failure(.calledAETitleNotRecognized) }
        if let allowed = allowedCallingAETitles, !allowed.contains(rq.callingAETitle) { return .failure(.callingAETitleNotRecognized) }
        if let check = userIdentityCheck, !check(rq.userInformation.userIdentityRequest) { return .failure(.noReasonGiven) }

        var results: [PresentationContextResult] = []
        var accepted: [AcceptedPresentationContext] = []
        for pc in rq.presentationContexts {
            guard let ours = supportedSyntaxes[pc.abstractSyntax] else {
                results.append(PresentationContextResult(id: pc.id, result: .abstractSyntaxNotSupported, transferSyntax: ""))
                continue
            }
            guard let ts = ours.first(where: pc.transferSyntaxes.contains) else {
                results.append(PresentationContextResult(id: pc.id, result: .transferSyntaxesNotSupported, transferSyntax: ""))
                continue
            }
            results.append(PresentationContextResult(id: pc.id, result: .acceptance, transferSyntax: ts))
            accepted.append(AcceptedPresentationContext(id: pc.id, abstractSyntax: pc.abstractSyntax, transferSyntax: ts))
        }

        var info = UserInformation(maxPDULength: maxPDULength, implementationClassUID: Implementation.classUID,
                                   implementationVersionName: Implementation.versionName)
        // We perform operations one at a time; answer a proposed window with 1/1 (PS3.7 D.3.3.3).
        if rq.userInformation.asyncOperationsWindow != nil { info.asyncOperationsWindow = AsyncOperationsWindow(invoked: 1, performed: 1) }
        // SCP/SCU role selection (PS3.7 D.3.3.4): agree to what was proposed for classes we support,
        // so a C-GET requestor can act as the storage SCP on this association.
        info.roleSelections = rq.userInformation.roleSelections.filter { supportedSyntaxes[$0.sopClassUID] != nil }
        if let id = rq.userInformation.userIdentityRequest, id.positiveResponseRequested, userIdentityCheck != nil {
            info.userIdentityResponse = []
        }
        let ac = AssociateAccept(calledAETitle: rq.calledAETitle, callingAETitle: rq.callingAETitle,
                                 presentationContexts: results, userInformation: info)
        return .success((ac, accepted))
    }
}

public let dicomApplicationContext = "1.2.840.10008.3.1.1.1"
public let verificationSOPClass = "1.2.840.10008.1.1"

/// A rejection is the failure side of negotiation.
extension AssociateReject: Error {}
