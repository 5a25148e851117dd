import Foundation

// The forwarding entities, named as seed 003's schemas: `destination`, `forwardingrule`, and an
// outgoing transaction shaped like `outgoingTransaction` (status, counts, updated) with what
// forwarding adds (failed count, attempts, last error, next attempt).

/// Where images can be sent (Slicebox `destinationType`): a remote box, or a PACS reached as a managed SCU.
public enum DestinationType: String, Sendable, CaseIterable, Codable {
    case box, scu
}

/// A place images can be sent to (seed 003 `destination`).
public struct Destination: Sendable, Hashable, Codable {
    public var destinationType: DestinationType
    public var destinationName: String
    public var destinationId: Int64
    public init(destinationType: DestinationType, destinationName: String, destinationId: Int64) {
        self.destinationType = destinationType
        self.destinationName = destinationName
        self.destinationId = destinationId
    }
}

/// Images from `source` are forwarded to `destination` (seed 003 `forwardingrule`). With
/// `keepImages` false the node is a relay: images are deleted once delivered (see
/// `ForwardingService` for exactly when).
public struct ForwardingRule: Sendable, Hashable {
    public var id: Int64
    public var source: Source
    public var destination: Destination
    public var keepImages: Bool
    public init(id: Int64 = -1, source: Source, destination: Destination, keepImages: Bool) {
        self.id = id
        self.source = source
        self.destination = destination
        self.keepImages = keepImages
    }
}

/// `pending`: collecting images, or waiting for its next attempt after a failure; `sending`: an
/// association is open for it; `delivered`: every image accepted; `failed`: every image has an
/// outcome and at least one was refused for good (the others were delivered).
public enum ForwardingStatus: String, Sendable, CaseIterable, Codable {
    case pending, sending, delivered, failed
    var isFinal: Bool { self == .delivered || self == .failed }
}

/// The images of one rule and one series, sent together over one association.
public struct ForwardingTransaction: Sendable, Equatable {
    public var id: Int64
    public var ruleId: Int64
    public var seriesId: Int64
    public var source: Source
    public var destination: Destination
    public var status: ForwardingStatus
    public var totalImageCount: Int
    /// Images the destination accepted (C-STORE success or warning).
    public var sentImageCount: Int
    /// Images refused for good (a C-STORE failure status, or a file that cannot be sent).
    public var failedImageCount: Int
    /// Times an association was tried for this transaction.
    public var attempts: Int
    /// Why the last attempt did not deliver everything; nil after a clean delivery.
    public var lastError: String?
    /// For a pending transaction: when it will be sent (ms since 1970) — after its idle time, or
    /// after its back-off when an attempt failed. Nil for the other statuses.
    public var nextAttempt: Int64?
    /// Milliseconds since 1970, as Slicebox.
    public var created: Int64
    public var updated: Int64
}

/// One image of a transaction and what became of it.
public struct ForwardingTransactionImage: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case pending, delivered, failed }
    public var transactionId: Int64
    public var imageId: Int64
    public var sopInstanceUID: String
    public var status: Status
    /// The C-STORE status the destination answered (PS3.4 B.2.3), when it answered.
    public var dimseStatus: UInt16?
    public var message: String
    /// Times this image was offered to the destination.
    public var attempts: Int
    public var updated: Int64
}

/// Timings of forwarding. The defaults suit a node in service; tests shorten them.
public struct ForwardingSettings: Codable, Sendable, Equatable {
    /// A transaction is sent once no image joined it for this long: the rest of the series is
    /// probably not coming (Slicebox waits 30 s; modalities send a series in one association).
    public var idleSeconds: Double = 5
    /// A transaction with this many images is sent without waiting (a long acquisition is
    /// forwarded in parts rather than held until it ends).
    public var maxImagesPerTransaction = 1000
    /// First wait after a failed attempt; each further failure doubles it, up to `retryMaxSeconds`.
    public var retryBaseSeconds: Double = 5
    public var retryMaxSeconds: Double = 300
    /// An image the destination defers (C-STORE A7xx "out of resources", 0213 "resource
    /// limitation") is offered this many times before it counts as refused.
    public var maxDeferrals = 10
    /// How often due transactions are looked for.
    public var pollSeconds: Double = 1
    /// Delivered transactions are listed this long, then forgotten (failed ones stay until removed).
    public var keepDeliveredSeconds: Double = 7 * 24 * 3600
    public init() {}

    /// The wait after the `attempts`-th failed attempt (1-based): base × 2^(attempts−1), capped.
    func backoff(afterAttempts attempts: Int) -> Double {
        let exponent = Double(max(0, min(attempts - 1, 30)))
        return min(retryBaseSeconds * pow(2, exponent), retryMaxSeconds)
    }
}
