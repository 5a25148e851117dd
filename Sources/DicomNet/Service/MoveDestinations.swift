import Foundation

/// Where a C-MOVE sends its C-STORE sub-operations: an AE title names a host and port known in
/// advance (PS3.4 C.4.2.2.1 leaves the mapping to the SCP's configuration). An unknown title is
/// answered with A801H Move Destination Unknown.
public protocol MoveDestinationResolver: Sendable {
    func destination(forAETitle aeTitle: String) -> (host: String, port: UInt16)?
}

/// A fixed table of destinations, e.g. from a configuration file.
public struct StaticMoveDestinations: MoveDestinationResolver {
    public var destinations: [String: (host: String, port: UInt16)]

    public init(_ destinations: [String: (host: String, port: UInt16)] = [:]) {
        self.destinations = destinations
    }

    public func destination(forAETitle aeTitle: String) -> (host: String, port: UInt16)? {
        // AE titles compare without their padding spaces (PS3.5 6.2: AE, leading/trailing spaces insignificant).
        destinations[aeTitle.trimmingCharacters(in: .whitespaces)]
    }

    public mutating func add(_ aeTitle: String, host: String, port: UInt16) {
        destinations[aeTitle.trimmingCharacters(in: .whitespaces)] = (host, port)
    }
}
