import Foundation
import Codec

// The box entities, named and shaped as seed 003's schemas (`box`, `outgoingTransaction`,
// `outgoingImage`, `outgoingTransactionImage`, `failedOutgoingTransactionImage`,
// `incomingTransaction`), Codable with the seed's field names: they are also what two nodes send
// each other. Fields beyond the seed are marked.

/// PUSH: this node reaches the other one (it was given the other's URL, `/boxes/connect`): it
/// pushes its images there and polls there for images sent to it. POLL: the other node reaches
/// this one (`/boxes/createconnection` made the URL): it pushes to us and polls what we send.
public enum BoxSendMethod: String, Sendable, Codable, CaseIterable {
    case PUSH, POLL
}

/// Slicebox's transaction statuses: WAITING (nothing under way), PROCESSING (images moving),
/// FINISHED (every image sent or received), FAILED (an image was refused; the others still go).
public enum TransactionStatus: String, Sendable, Codable, CaseIterable {
    case WAITING, PROCESSING, FINISHED, FAILED
}

/// A connection with another node (seed `box`).
public struct Box: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    /// Shared secret of the pair: the last segment of `baseUrl`, a UUID.
    public var token: String
    /// `…/api/transactions/<token>` on the node that created the connection.
    public var baseUrl: String
    public var sendMethod: BoxSendMethod
    /// The profile images are anonymized with unless a send names another (seed `profile`).
    public var profile: AnonymizationProfile
    /// PUSH: the other node answered within `BoxSettings.onlineSeconds`; POLL: it polled within them.
    public var online: Bool
    /// Beyond the seed: when the other node was last heard from (ms since 1970, 0 never), and why
    /// the last exchange failed ("" when it did not).
    public var lastContact: Int64
    public var lastError: String
}

/// Images sent to a box in one go (seed `outgoingTransaction`).
public struct OutgoingTransaction: Sendable, Equatable, Codable {
    public var id: Int64
    public var boxId: Int64
    public var boxName: String
    public var profile: AnonymizationProfile
    public var sentImageCount: Int64
    public var totalImageCount: Int64
    public var status: TransactionStatus
    /// Milliseconds since 1970.
    public var updated: Int64
    /// Beyond the seed: images refused for good (by the other node, or not readable here), when
    /// the transaction was made, and the last failure's text.
    public var failedImageCount: Int64
    public var created: Int64
    public var lastError: String

    public init(id: Int64, boxId: Int64, boxName: String, profile: AnonymizationProfile, sentImageCount: Int64, totalImageCount: Int64,
                status: TransactionStatus, updated: Int64, failedImageCount: Int64 = 0, created: Int64 = 0, lastError: String = "") {
        self.id = id; self.boxId = boxId; self.boxName = boxName; self.profile = profile
        self.sentImageCount = sentImageCount; self.totalImageCount = totalImageCount; self.status = status; self.updated = updated
        self.failedImageCount = failedImageCount; self.created = created; self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case id, boxId, boxName, profile, sentImageCount, totalImageCount, status, updated, failedImageCount, created, lastError
    }

    /// Lenient where a remote node may differ: its profile names options this node may not know
    /// (the receiver never uses it), and the fields beyond the seed may be absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        boxId = try c.decodeIfPresent(Int64.self, forKey: .boxId) ?? -1
        boxName = try c.decodeIfPresent(String.self, forKey: .boxName) ?? ""
        profile = (try? c.decodeIfPresent(AnonymizationProfile.self, forKey: .profile)) ?? .basic
        sentImageCount = try c.decodeIfPresent(Int64.self, forKey: .sentImageCount) ?? 0
        totalImageCount = try c.decode(Int64.self, forKey: .totalImageCount)
        status = (try? c.decodeIfPresent(TransactionStatus.self, forKey: .status)) ?? .WAITING
        updated = try c.decodeIfPresent(Int64.self, forKey: .updated) ?? 0
        failedImageCount = try c.decodeIfPresent(Int64.self, forKey: .failedImageCount) ?? 0
        created = try c.decodeIfPresent(Int64.self, forKey: .created) ?? 0
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError) ?? ""
    }
}

/// One image of an outgoing transaction (seed `outgoingImage`). `id` is this row's id (what the
/// other node asks for), `imageId` the stored image's.
public struct OutgoingImage: Sendable, Equatable, Codable {
    public var id: Int64
    public var outgoingTransactionId: Int64
    public var imageId: Int64
    public var sequenceNumber: Int64
    public var sent: Bool
    /// Beyond the seed: "pending", "sent" or "failed", and why it failed.
    public var status: String?
    public var message: String?

    public init(id: Int64, outgoingTransactionId: Int64, imageId: Int64, sequenceNumber: Int64, sent: Bool, status: String? = nil, message: String? = nil) {
        self.id = id; self.outgoingTransactionId = outgoingTransactionId; self.imageId = imageId
        self.sequenceNumber = sequenceNumber; self.sent = sent; self.status = status; self.message = message
    }
}

/// Seed `outgoingTransactionImage`: what a poll answers and `done` sends back.
public struct OutgoingTransactionImage: Sendable, Equatable, Codable {
    public var transaction: OutgoingTransaction
    public var image: OutgoingImage
    public init(transaction: OutgoingTransaction, image: OutgoingImage) { self.transaction = transaction; self.image = image }
}

/// Seed `failedOutgoingTransactionImage`: the receiver could not store an image it fetched.
public struct FailedOutgoingTransactionImage: Sendable, Equatable, Codable {
    public var transactionImage: OutgoingTransactionImage
    public var message: String
    public init(transactionImage: OutgoingTransactionImage, message: String) { self.transactionImage = transactionImage; self.message = message }
}

/// Images received from a box for one of its outgoing transactions (seed `incomingTransaction`).
public struct IncomingTransaction: Sendable, Equatable, Codable {
    public var id: Int64
    public var boxId: Int64
    public var boxName: String
    public var outgoingTransactionId: Int64
    /// Distinct images (sequence numbers) stored; a resend of one is not counted twice, and an
    /// image this node refused is not counted (Slicebox counts it: issue #257).
    public var receivedImageCount: Int64
    public var totalImageCount: Int64
    public var status: TransactionStatus
    public var updated: Int64
    /// Beyond the seed: of the received, how many were new instances here; how many were refused
    /// (not DICOM, filtered out); when the first arrived.
    public var addedImageCount: Int64
    public var rejectedImageCount: Int64
    public var created: Int64
}

/// Box timings and limits (`boxes` in the configuration). Defaults suit a node in service;
/// tests shorten the intervals.
public struct BoxSettings: Codable, Sendable, Equatable {
    /// How often a PUSH box looks for images to push when idle (Slicebox: 15 s). A batch that
    /// moved images is followed by the next at once.
    public var pushIntervalSeconds: Double = 5
    /// How often a PUSH box polls the other node for images sent to it (Slicebox: 15 s). An
    /// empty poll is answered 404, which the other node logs.
    public var pollIntervalSeconds: Double = 15
    /// Images per push batch or poll (Slicebox: 200).
    public var batchSize = 200
    /// Images moving at once per box (Slicebox pushes 8 in parallel).
    public var parallelism = 4
    /// A box is online while the other node was heard from within this time (keep it above the
    /// poll interval: a POLL box hears from its PUSH side at each poll).
    public var onlineSeconds: Double = 45
    /// A PROCESSING transaction with no progress for this long goes back to WAITING (Slicebox: 15 s).
    public var idleSeconds: Double = 15
    public var connectTimeoutSeconds: Double = 10
    /// Longest wait for the other node's next bytes.
    public var requestTimeoutSeconds: Double = 120
    /// PEM bundle of CAs trusted for https box URLs ("": the system's trust store).
    public var trustedCertificates = ""
    /// Check https box servers' certificates. Off only for tests with self-signed certificates.
    public var verifyServer = true
    /// How pushed images are compressed: "gzip" (`Content-Encoding: gzip`), or "zlib" — a zlib
    /// stream without Content-Encoding, sent chunked — for a Slicebox on the other side, which
    /// inflates every pushed body as zlib whatever its header says.
    public var pushEncoding = "gzip"
    /// How long a forwarding rule to a box waits for its images to be taken before it backs off.
    public var forwardingWaitSeconds: Double = 600
    /// Largest image accepted from a box, decompressed.
    public var maxImageBytes: Int64 = 4 << 30

    public init() {}

    func validated() throws -> BoxSettings {
        guard pushIntervalSeconds > 0, pollIntervalSeconds > 0, onlineSeconds > 0, idleSeconds > 0, connectTimeoutSeconds > 0,
              requestTimeoutSeconds > 0, forwardingWaitSeconds > 0 else {
            throw NodeError.badRequest("boxes: intervals and timeouts must be positive")
        }
        guard pushEncoding == "gzip" || pushEncoding == "zlib" else { throw NodeError.badRequest("boxes.pushEncoding must be gzip or zlib") }
        guard (1...10_000).contains(batchSize), (1...64).contains(parallelism), maxImageBytes > 0 else {
            throw NodeError.badRequest("boxes: batchSize must be 1–10000, parallelism 1–64, maxImageBytes positive")
        }
        return self
    }
}
