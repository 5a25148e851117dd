import Foundation

/// Sends stored images to the destinations of one type. The SCU sender is here
/// (`SCUForwardingSender`); the boxes feature registers its own with
/// `ForwardingService.register(sender:)`. A rule to a type without a sender is refused.
public protocol ForwardingSender: AnyObject, Sendable {
    var destinationType: DestinationType { get }
    /// Every destination of this type that exists now (seed 003 `GET /destinations`).
    func destinations() throws -> [Destination]
    /// Sends `images` to the destination, reporting each image's outcome as it is known.
    /// Throwing means the destination could not be reached or the connection broke: every image
    /// not reported yet is tried again later with back-off. Stops early (without throwing) once
    /// `cancellation.isCancelled`; unreported images are then sent at the next start.
    func send(_ images: [ForwardingImage], to destinationId: Int64, cancellation: ForwardingCancellation,
              report: (ForwardingImage, ForwardingImageResult) -> Void) throws
}

/// A stored image to send, with where its file is now.
public struct ForwardingImage: Sendable, Equatable {
    public var imageId: Int64
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var transferSyntaxUID: String
    public var path: String
}

/// What became of one image.
public enum ForwardingImageResult: Sendable, Equatable {
    /// Accepted: C-STORE success or warning (PS3.4 B.2.3; Slicebox counts warnings as sent).
    case delivered(status: UInt16?)
    /// Refused for good (a C-STORE failure status, no presentation context for it, a file that
    /// cannot be read): recorded as failed, not offered again unless the transaction is retried.
    case refused(status: UInt16?, reason: String)
    /// Not now (out of resources): offered again with the transaction's back-off, up to
    /// `ForwardingSettings.maxDeferrals` times.
    case deferred(status: UInt16?, reason: String)
}

/// Set by `ForwardingService.stop` (or when a transaction or its rule is removed) to end a send
/// between two images.
public final class ForwardingCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    public init() {}
    public var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
    public func cancel() { lock.lock(); cancelled = true; lock.unlock() }
}
