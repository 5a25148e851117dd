import Foundation
import Codec
import DicomNet

/// Forwarding to the managed SCUs (seed 003 `scu`): C-STORE over one association per batch, the
/// stored files sent as they are (or transcoded to a native syntax the peer accepted).
public final class SCUForwardingSender: ForwardingSender, @unchecked Sendable {
    public let destinationType = DestinationType.scu
    let db: Database
    let callingAETitle: String
    let log: NetLogger
    /// Connect and per-response limits of the association (DicomNet defaults otherwise).
    public var connectTimeout: Double = 10
    public var dimseTimeout: Double = 120

    public init(index: SQLiteIndex, callingAETitle: String, log: NetLogger) {
        db = index.db
        self.callingAETitle = callingAETitle
        self.log = log
    }

    public func destinations() throws -> [Destination] {
        try db.read { try $0.query("SELECT id, name FROM scus ORDER BY id").map {
            Destination(destinationType: .scu, destinationName: $0[1].string ?? "", destinationId: $0[0].int!)
        } }
    }

    public func send(_ images: [ForwardingImage], to destinationId: Int64, cancellation: ForwardingCancellation,
                     report: (ForwardingImage, ForwardingImageResult) -> Void) throws {
        guard let row = try db.read({ try $0.query("SELECT name, ae_title, host, port FROM scus WHERE id=?", [.integer(destinationId)]).first }) else {
            throw NodeError.notFound("SCU \(destinationId) no longer exists")
        }
        let (name, ae, host, port) = (row[0].string ?? "", row[1].string ?? "", row[2].string ?? "", UInt16(row[3].int ?? 0))
        let files = images.map {
            StorableFile(path: $0.path, sopClassUID: $0.sopClassUID, sopInstanceUID: $0.sopInstanceUID, transferSyntax: TransferSyntax(uid: $0.transferSyntaxUID))
        }
        for batch in Self.batches(files) where !cancellation.isCancelled {
            var request = AssociationRequest(callingAETitle: callingAETitle, calledAETitle: ae, host: host, port: port)
            request.connectTimeout = connectTimeout
            request.dimseTimeout = dimseTimeout
            request.proposeStorage(for: batch.map { files[$0] })
            let assoc = try request.open(log: log)
            var intact = true
            defer { if intact { try? assoc.release() } else { try? assoc.abort() } }
            for i in batch {
                if cancellation.isCancelled { break }
                do {
                    let r = try assoc.store(files[i])
                    report(images[i], Self.result(r))
                } catch let e as AssociationError {
                    if case .noPresentationContext = e {
                        report(images[i], .refused(status: nil, reason: "\(name) does not accept it: \(e)"))
                    } else {
                        intact = false
                        throw e
                    }
                } catch let e as TransportError {
                    intact = false
                    throw e
                } catch {
                    // Reading the stored file failed; the association is untouched.
                    report(images[i], .refused(status: nil, reason: "cannot read the stored file: \(error)"))
                }
            }
        }
    }

    /// PS3.4 B.2.3: success and warnings are delivered; A7xx (out of resources) and 0213H
    /// (resource limitation, PS3.7 C.5) may pass; every other failure is final for this instance.
    static func result(_ r: StoreResult) -> ForwardingImageResult {
        let code = r.status.rawValue
        let text = r.status.description(for: .cStoreRQ) + (r.errorComment.map { ": \($0)" } ?? "")
        switch r.status.category {
        case .success, .warning: return .delivered(status: code)
        default:
            if (0xA700...0xA7FF).contains(code) || code == 0x0213 { return .deferred(status: code, reason: text) }
            return .refused(status: code, reason: text)
        }
    }

    /// Indices of `files` in groups that each fit in one association: `proposeStorage` proposes a
    /// context per SOP class and non-native syntax plus one native per class, and PS3.8 9.3.2.2
    /// allows at most 128 (odd context ids 1–255).
    static func batches(_ files: [StorableFile]) -> [[Int]] {
        let native: Set<String> = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID]
        var result: [[Int]] = []
        var current: [Int] = []
        var syntaxes: [String: Set<String>] = [:]
        func contexts(_ s: [String: Set<String>]) -> Int { s.values.reduce(0) { $0 + 1 + $1.subtracting(native).count } }
        for (i, f) in files.enumerated() {
            var next = syntaxes
            next[f.sopClassUID, default: []].insert(f.transferSyntax.uid)
            if contexts(next) > 128, !current.isEmpty {
                result.append(current)
                current = []
                next = [f.sopClassUID: [f.transferSyntax.uid]]
            }
            syntaxes = next
            current.append(i)
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}
