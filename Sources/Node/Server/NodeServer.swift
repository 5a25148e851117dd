import Foundation
import Codec
import DicomNet

/// The node: one store, one index, one `Ingest`, the main SCP from the configuration and the
/// managed SCPs (each its own listener), all answering C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET.
public final class NodeServer: @unchecked Sendable {
    public let config: NodeConfig
    /// Client TLS contexts of the configured C-MOVE destinations that ask for TLS, by AE title.
    let moveTLS: [String: TLSContext]
    public let log: NodeLog
    public let index: SQLiteIndex
    public let store: FileStore
    public let ingest: Ingest
    /// Watched folders (seed 003 `/directorywatches`), started with the node.
    public let directoryWatches: DirectoryWatches
    /// Upload sessions (seed 003 `/import/sessions`).
    public let importSessions: ImportSessions
    /// Forwarding rules and their transactions (seed 003 `/forwarding`), sending to managed SCUs.
    public let forwarding: ForwardingService
    /// Series types, their rules and labels (seed 003 `/seriestypes`, `/metadata/series/{id}/seriestypes`).
    public let seriesTypes: SeriesTypeService
    /// Series tags (seed 003 `/metadata/seriestags`, `/metadata/series/{id}/seriestags`).
    public let seriesTags: SeriesTagService
    /// Tag filters applied to incoming images per source (seed 003 `/filtering`).
    public let tagFilters: TagFilterService
    /// Anonymization, its keys and reverse anonymization of incoming images (seed 003 `/anonymization`, PS3.15 Annex E).
    public let anonymization: AnonymizationService
    /// Box-to-box transfers with other nodes (seed 003 `/boxes`, `/transactions/{token}`).
    public let boxes: BoxService
    /// Modality sessions and the filters service's image resources (seed 002 `/images`).
    public let modalitySessions: ModalitySessions
    public let imageResources: ImageResources
    public private(set) var mainSCP: DicomServer?
    private var managedSCPs: [Int64: DicomServer] = [:]
    private let lock = NSLock()

    public init(config: NodeConfig, log: NodeLog? = nil) throws {
        let config = try config.validated()
        self.config = config
        var moveTLS: [String: TLSContext] = [:]
        for (ae, d) in config.moveDestinations {
            do { moveTLS[ae] = try d.tlsContext() } catch { throw NodeError.badRequest("moveDestinations.\(ae): \(error)") }
        }
        self.moveTLS = moveTLS
        let level = NetLogLevel(rawValue: config.logLevel) ?? .info
        self.log = log ?? NodeLog(minimumLevel: level)
        store = try FileStore(root: config.dataFolder, durable: config.durable)
        index = try SQLiteIndex(path: config.dataFolder + "/index.sqlite")
        ingest = Ingest(store: store, index: index, log: self.log, duplicatePolicy: DuplicatePolicy(rawValue: config.duplicatePolicy) ?? .replace)
        directoryWatches = DirectoryWatches(ingest: ingest, log: self.log)
        importSessions = ImportSessions(ingest: ingest, log: self.log)
        forwarding = ForwardingService(ingest: ingest, log: self.log, settings: config.forwarding)
        forwarding.register(sender: SCUForwardingSender(index: index, callingAETitle: config.dicom.aeTitle, log: self.log))
        seriesTypes = SeriesTypeService(index: index, store: store, log: self.log)
        seriesTags = SeriesTagService(index: index)
        tagFilters = try TagFilterService(index: index, log: self.log)
        ingest.add(transform: tagFilters)
        ingest.add(observer: seriesTypes)
        // After the tag filters, as Slicebox: filter, then reverse anonymization.
        anonymization = AnonymizationService(ingest: ingest, settings: config.anonymization)
        boxes = try BoxService(ingest: ingest, anonymization: anonymization, forwarding: forwarding, tagFilters: tagFilters,
                               settings: config.boxes, log: self.log)
        modalitySessions = ModalitySessions(index: index, store: store, log: self.log)
        imageResources = try ImageResources(index: index, store: store, sessions: modalitySessions, settings: .init(
            lifetime: config.filters.resourceLifetimeSeconds, sweepInterval: config.filters.sweepIntervalSeconds,
            maxMediaBytes: config.filters.maxMediaBytes), log: self.log)
    }

    /// Repairs the store after a crash, then starts the main SCP, every managed SCP and the directory watches.
    public func start() throws {
        let started = Date()
        log.persist(to: index)
        let repaired = try ingest.repair()
        try seriesTypes.start()
        let c = try index.counts()
        log.log(.info, "node", "store opened", ["data": config.dataFolder, "images": "\(c.images)", "series": "\(c.series)",
                                                 "studies": "\(c.studies)", "patients": "\(c.patients)",
                                                 "repaired": "\(repaired.completed + repaired.removed + repaired.deleted)"])
        try forwarding.start()
        try boxes.start()
        try imageResources.start()
        let main = makeServer(aeTitle: config.dicom.aeTitle, source: Source(type: .scp, name: config.dicom.aeTitle, id: 0),
                              allowedCallingAETitles: config.dicom.allowedCallingAETitles.isEmpty ? nil : Set(config.dicom.allowedCallingAETitles))
        main.maxAssociations = config.dicom.maxAssociations
        if let cert = config.dicom.tlsCertificate, let key = config.dicom.tlsKey {
            main.tls = try TLSContext(.server(certificate: cert, key: key, trusted: config.dicom.tlsClientCA,
                                              requireClientCertificate: config.dicom.tlsClientCA != nil), isServer: true)
        }
        try main.start(host: config.dicom.host, port: UInt16(config.dicom.port))
        mainSCP = main
        for scp in try listSCPs() {
            do { try startManaged(scp) } catch {
                log.log(.error, "scp", "cannot start managed SCP", ["name": scp.name, "ae": scp.aeTitle, "port": "\(scp.port)", "error": "\(error)"])
            }
        }
        try directoryWatches.start()
        log.log(.info, "node", "ready", ["ae": config.dicom.aeTitle, "port": "\(main.port)",
                                          "startup_ms": "\(Int(Date().timeIntervalSince(started) * 1000))"])
    }

    /// Stops listening, lets open associations finish (up to `waitSeconds`), flushes the log.
    public func stop(waitSeconds: Double = 30) {
        lock.lock()
        let servers = [mainSCP].compactMap { $0 } + Array(managedSCPs.values)
        lock.unlock()
        log.log(.info, "node", "stopping", ["associations": "\(servers.map(\.activeCount).reduce(0, +))"])
        for s in servers { s.stop(waitSeconds: waitSeconds) }
        directoryWatches.stop()
        forwarding.stop(waitSeconds: min(waitSeconds, 10))
        boxes.stop(waitSeconds: min(waitSeconds, 10))
        ingest.stop()
        seriesTypes.stop()
        imageResources.stop()
        log.log(.info, "node", "stopped", [:])
        log.stop()
    }

    func makeServer(aeTitle: String, source: Source, allowedCallingAETitles: Set<String>? = nil) -> DicomServer {
        var policy = AcceptorPolicy.storageSCP(aeTitle: aeTitle)
        policy.allowedCallingAETitles = allowedCallingAETitles
        for uid in QueryRetrieveModel.allSOPClasses {
            policy.supportedSyntaxes[uid] = [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID]
        }
        policy.maxPDULength = UInt32(config.dicom.maxPDULength)
        let server = DicomServer(policy: policy, storage: NodeStorage(ingest: ingest, source: source), log: log)
        server.queryHandler = StoreQuery(index: index, retrieveAETitle: aeTitle)
        server.retrieveHandler = StoreRetrieve(ingest: ingest)
        server.moveDestinations = NodeMoveDestinations(node: self)
        return server
    }

    // MARK: managed SCPs (seed 003 `/scps`)

    public func listSCPs() throws -> [SCPEntity] {
        try index.db.read { try $0.query("SELECT id, name, ae_title, port FROM scps ORDER BY id").map {
            SCPEntity(id: $0[0].int!, name: $0[1].string ?? "", aeTitle: $0[2].string ?? "", port: Int($0[3].int ?? 0))
        } }
    }

    /// Adds an SCP and starts its listener; the same name again returns the existing one (as Slicebox).
    public func addSCP(name: String, aeTitle: String, port: Int) throws -> SCPEntity {
        let ae = aeTitle.trimmingCharacters(in: .whitespaces)
        try AETitle.validate(ae)
        guard (0...65535).contains(port) else { throw NodeError.badRequest("port \(port) is not 0–65535") }
        let scps = try listSCPs()
        if let existing = scps.first(where: { $0.name == name }) { return existing }
        guard port != config.dicom.port, !scps.contains(where: { $0.port == port }) else {
            throw NodeError.badRequest("port \(port) is already used by another SCP")
        }
        let id = try index.db.write { try $0.run("INSERT INTO scps (name, ae_title, port) VALUES (?,?,?)", [.text(name), .text(ae), .integer(Int64(port))]) }
        let entity = SCPEntity(id: id, name: name, aeTitle: ae, port: port)
        do { try startManaged(entity) } catch {
            // A port another program holds: the SCP is not kept.
            try index.db.write { try $0.run("DELETE FROM scps WHERE id=?", [.integer(id)]) }
            throw NodeError.badRequest("cannot listen on port \(port): \(error)")
        }
        log.log(.info, "scp", "added", ["name": name, "ae": ae, "port": "\(port)", "id": "\(entity.id)"])
        return entity
    }

    private func startManaged(_ scp: SCPEntity) throws {
        let server = makeServer(aeTitle: scp.aeTitle, source: Source(type: .scp, name: scp.name, id: scp.id))
        try server.start(host: config.dicom.host, port: UInt16(scp.port))
        lock.lock(); managedSCPs[scp.id] = server; lock.unlock()
    }

    public func removeSCP(id: Int64) throws {
        lock.lock(); let server = managedSCPs.removeValue(forKey: id); lock.unlock()
        server?.stop(waitSeconds: 10)
        try forwarding.removeRules(forSource: .scp, id: id)
        try index.db.write { try $0.run("DELETE FROM scps WHERE id=?", [.integer(id)]) }
        try tagFilters.removeAssociations(sourceType: .scp, sourceId: id)
        if server != nil { log.log(.info, "scp", "removed", ["id": "\(id)"]) }
    }

    /// The port a managed SCP listens on now (its configured one, or the bound one for port 0).
    public func listeningPort(scpId: Int64) -> UInt16? {
        lock.lock(); defer { lock.unlock() }
        return managedSCPs[scpId]?.port
    }

    // MARK: managed SCUs (seed 003 `/scus`)

    public func listSCUs() throws -> [SCUEntity] {
        try index.db.read { try $0.query("SELECT id, name, ae_title, host, port FROM scus ORDER BY id").map {
            SCUEntity(id: $0[0].int!, name: $0[1].string ?? "", aeTitle: $0[2].string ?? "", host: $0[3].string ?? "", port: Int($0[4].int ?? 0))
        } }
    }

    public func addSCU(name: String, aeTitle: String, host: String, port: Int) throws -> SCUEntity {
        let ae = aeTitle.trimmingCharacters(in: .whitespaces)
        try AETitle.validate(ae)
        guard (1...65535).contains(port) else { throw NodeError.badRequest("port \(port) is not 1–65535") }
        guard !host.isEmpty else { throw NodeError.badRequest("host is empty") }
        let existing = try listSCUs()
        if let same = existing.first(where: { $0.name == name && $0.aeTitle == ae && $0.host == host && $0.port == port }) { return same }
        if existing.contains(where: { $0.name == name }) { throw NodeError.badRequest("an SCU named '\(name)' already exists") }
        if existing.contains(where: { $0.host == host && $0.port == port }) { throw NodeError.badRequest("an SCU for \(host):\(port) already exists") }
        let id = try index.db.write { try $0.run("INSERT INTO scus (name, ae_title, host, port) VALUES (?,?,?,?)",
                                                 [.text(name), .text(ae), .text(host), .integer(Int64(port))]) }
        log.log(.info, "scu", "added", ["name": name, "ae": ae, "host": host, "port": "\(port)", "id": "\(id)"])
        return SCUEntity(id: id, name: name, aeTitle: ae, host: host, port: port)
    }

    public func removeSCU(id: Int64) throws {
        try forwarding.removeRules(forDestination: .scu, id: id)
        try index.db.write { try $0.run("DELETE FROM scus WHERE id=?", [.integer(id)]) }
    }

    /// C-STORE of stored images to a managed SCU over one association (seed 003 `POST /scus/{id}/send`).
    /// Returns how many the peer accepted; throws when the peer cannot be reached.
    public func send(imageIds: [Int64], toSCU id: Int64) throws -> (sent: Int, failed: [String]) {
        guard let scu = try listSCUs().first(where: { $0.id == id }) else { throw NodeError.notFound("SCU \(id)") }
        ingest.settle()
        let files = try index.storedImages(ids: imageIds).map {
            StorableFile(path: store.readablePath(forKey: $0.storageKey) ?? store.finalPath(forKey: $0.storageKey),
                         sopClassUID: $0.sopClassUID, sopInstanceUID: $0.image.sopInstanceUID, transferSyntax: TransferSyntax(uid: $0.transferSyntaxUID))
        }
        guard !files.isEmpty else { return (0, []) }
        var request = AssociationRequest(callingAETitle: config.dicom.aeTitle, calledAETitle: scu.aeTitle, host: scu.host, port: UInt16(scu.port))
        request.proposeStorage(for: files)
        let assoc = try request.open(log: log)
        var sent = 0
        var failed: [String] = []
        for f in files {
            let r = try assoc.store(f)
            if r.status.category == .failure { failed.append(f.sopInstanceUID) } else { sent += 1 }
        }
        try? assoc.release()
        log.log(failed.isEmpty ? .info : .warning, "scu", "sent", ["scu": scu.name, "ae": scu.aeTitle, "sent": "\(sent)", "failed": "\(failed.count)"])
        return (sent, failed)
    }
}

/// C-MOVE destinations: the managed SCUs by AE title, then the configuration's table — except
/// that a configured TLS destination always wins over a managed SCU of the same AE title, so
/// adding an SCU at run time can never send that destination's images in the clear.
struct NodeMoveDestinations: MoveDestinationResolver {
    unowned let node: NodeServer

    func destination(forAETitle aeTitle: String) -> MoveDestination? {
        let ae = aeTitle.trimmingCharacters(in: .whitespaces)
        let configured = node.config.moveDestinations[ae].map { MoveDestination(host: $0.host, port: UInt16($0.port), tls: node.moveTLS[ae]) }
        if let configured, configured.tls != nil { return configured }
        if let scu = try? node.listSCUs().first(where: { $0.aeTitle == ae }) { return MoveDestination(host: scu.host, port: UInt16(scu.port)) }
        return configured
    }
}
