import Foundation

/// Where a C-MOVE sends its C-STORE sub-operations: an AE title names a host and port known in
/// advance (PS3.4 C.4.2.2.1 leaves the mapping to the SCP's configuration). An unknown title is
/// answered with A801H Move Destination Unknown.
public protocol MoveDestinationResolver: Sendable {
    func destination(forAETitle aeTitle: String) -> MoveDestination?
}

/// One C-MOVE destination. With `tls` the sub-association runs over TLS with that client context
/// (PS3.15 B.1), so images retrieved over a secure association do not leave in the clear.
public struct MoveDestination: Sendable {
    public var host: String
    public var port: UInt16
    public var tls: TLSContext?

    public init(host: String, port: UInt16, tls: TLSContext? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}

/// A fixed table of destinations, e.g. from a configuration file.
public struct StaticMoveDestinations: MoveDestinationResolver {
    public var destinations: [String: MoveDestination]

    public init(_ destinations: [String: MoveDestination] = [:]) {
        self.destinations = destinations
    }

    public func destination(forAETitle aeTitle: String) -> MoveDestination? {
        // AE titles compare without their padding spaces (PS3.5 6.2: AE, leading/trailing spaces insignificant).
        destinations[aeTitle.trimmingCharacters(in: .whitespaces)]
    }

    public mutating func add(_ aeTitle: String, _ destination: MoveDestination) {
        destinations[aeTitle.trimmingCharacters(in: .whitespaces)] = destination
    }
}
