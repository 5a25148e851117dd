import Foundation
import Codec

/// A change applied to every incoming data set of the sources it concerns, before it is stored
/// (tag filters, reverse anonymization). Runs inside `Ingest.commit`, so what is acknowledged is
/// what was transformed.
public protocol IngestTransform: AnyObject, Sendable {
    /// Cheap, called for every image: whether anything may apply to this source. Returning false
    /// keeps the hot path free of a full parse.
    func applies(to source: Source) -> Bool
    /// The changed file, or nil when nothing changed. Throwing refuses the image (nothing stored).
    func transform(_ file: DicomFile, source: Source) throws -> DicomFile?
}

/// What happened to the store, told after the fact on the ingest's event queue, one event at a time
/// in order (series-type evaluation, forwarding, box bookkeeping, key purging).
public enum IngestEvent: Sendable {
    /// An image was stored (`added` false when an existing instance was replaced or kept).
    case imageAdded(imageId: Int64, seriesId: Int64, source: Source, added: Bool)
    case imagesDeleted(imageIds: [Int64])
}

public protocol IngestObserver: AnyObject, Sendable {
    func ingest(_ event: IngestEvent)
}

/// The registered transforms and observers, and the serial queue events are delivered on.
final class IngestHooks: @unchecked Sendable {
    private let lock = NSLock()
    private var transforms: [IngestTransform] = []
    private var observers: [IngestObserver] = []
    private let events = DispatchQueue(label: "ingest-events")
    private let pending = DispatchGroup()

    func add(_ t: IngestTransform) { lock.lock(); transforms.append(t); lock.unlock() }
    func add(_ o: IngestObserver) { lock.lock(); observers.append(o); lock.unlock() }

    func transforms(for source: Source) -> [IngestTransform] {
        lock.lock(); defer { lock.unlock() }
        return transforms.filter { $0.applies(to: source) }
    }

    func publish(_ event: IngestEvent) {
        lock.lock(); let targets = observers; lock.unlock()
        guard !targets.isEmpty else { return }
        events.async(group: pending) { for o in targets { o.ingest(event) } }
    }

    /// Waits until every event published so far was delivered.
    func drain() { pending.wait() }
}
