import Foundation
import Codec
import DicomNet

/// Shared `--aet/--aec/host/port` handling for the SCU commands.
struct PeerArguments {
    var callingAE = "DICOMNODE"
    var calledAE = "ANY-SCP"
    var host = ""
    var port: UInt16 = 0
    var maxPDU: UInt32 = 256 * 1024
    var timeout: Double = 30
    /// TLS (PS3.15 B.1) when a CA bundle or a client certificate is given.
    var tls: TLSContext?

    static let valued: Set<String> = ["--aet", "--aec", "--max-pdu", "--timeout", "--tls-ca", "--tls-cert", "--tls-key"]

    init(_ parsed: ParsedArguments, positionalCount: Int) throws {
        guard parsed.positional.count >= positionalCount else { throw UsageError("give the peer's host and port") }
        host = parsed.positional[0]
        guard let p = UInt16(parsed.positional[1]), p > 0 else { throw UsageError("'\(parsed.positional[1])' is not a port number") }
        port = p
        if let a = parsed.options["--aet"] { callingAE = a }
        if let a = parsed.options["--aec"] { calledAE = a }
        for ae in [callingAE, calledAE] where ae.isEmpty || ae.count > 16 {
            throw UsageError("AE title '\(ae)' must be 1 to 16 characters (PS3.5 6.2)")
        }
        if let m = parsed.options["--max-pdu"] {
            guard let v = UInt32(m), v >= 4096 else { throw UsageError("--max-pdu takes a number of bytes >= 4096") }
            maxPDU = v
        }
        if let t = parsed.options["--timeout"] {
            guard let v = Double(t), v > 0 else { throw UsageError("--timeout takes seconds") }
            timeout = v
        }
        let ca = parsed.options["--tls-ca"], cert = parsed.options["--tls-cert"], key = parsed.options["--tls-key"]
        if ca != nil || cert != nil {
            guard (cert == nil) == (key == nil) else { throw UsageError("--tls-cert and --tls-key go together") }
            tls = try TLSContext(.client(trusted: ca, certificate: cert, key: key, verifyServer: true), isServer: false)
        }
    }

    func request() -> AssociationRequest {
        var r = AssociationRequest(callingAETitle: callingAE, calledAETitle: calledAE, host: host, port: port)
        r.maxPDULength = maxPDU
        r.associateTimeout = timeout
        r.dimseTimeout = timeout
        r.tls = tls
        return r
    }
}

let peerOptionsHelp = """
      --aet AE          our (calling) AE title (default DICOMNODE)
      --aec AE          the peer's (called) AE title (default ANY-SCP)
      --max-pdu BYTES   the largest PDU we receive (default 262144)
      --timeout S       seconds to wait for the peer (default 30)
      --tls-ca PEM      use TLS, trusting these CA certificates (PS3.15 B.1)
      --tls-cert PEM    our client certificate (with --tls-key KEY), for peers that require one
"""

struct EchoCommand: Command {
    let summary = "verify a DICOM peer with C-ECHO (like DCMTK echoscu)"
    let help = """
    usage: dicomnode echo [options] HOST PORT

    Opens an association, sends C-ECHO, prints the status and releases. Exit status 0 on success.

    options:
    \(peerOptionsHelp)
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(args, valued: PeerArguments.valued, switches: [])
            let peer = try PeerArguments(parsed, positionalCount: 2)
            var request = peer.request()
            request.propose(verificationSOPClass, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID])
            let assoc = try request.open()
            let status = try assoc.echo()
            try assoc.release()
            print("C-ECHO \(peer.calledAE)@\(peer.host):\(peer.port): \(status)")
            return status.category == .success ? 0 : 1
        } catch {
            return failure("echo", error)
        }
    }
}

struct StoreCommand: Command {
    let summary = "send files and folders with C-STORE (like DCMTK storescu)"
    let help = """
    usage: dicomnode store [options] HOST PORT PATH...

    Sends every DICOM file under the paths (folders are walked) on one association, proposing
    each SOP class found in the file's own transfer syntax plus Explicit and Implicit VR Little
    Endian. Shows progress; prints a summary. Exit status 1 if any file failed.

    options:
    \(peerOptionsHelp)
      --quiet           no per-file lines, only the summary
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(args, valued: PeerArguments.valued, switches: ["--quiet"])
            let peer = try PeerArguments(parsed, positionalCount: 3)
            let quiet = parsed.flags.contains("--quiet")
            let paths = expandPaths(Array(parsed.positional.dropFirst(2)))
            var files: [StorableFile] = []
            var failed = 0
            for p in paths {
                do { files.append(try StorableFile(path: p)) } catch {
                    complain("skipped \(p): \(error)")
                    failed += 1
                }
            }
            guard !files.isEmpty else { complain("store: no DICOM files to send"); return 1 }
            var request = peer.request()
            // One context per (SOP class, transfer syntax) pair in the files (PS3.8 9.3.2.2: ≤ 128).
            var pairs: [String: Set<String>] = [:]
            for f in files { pairs[f.sopClassUID, default: []].insert(f.transferSyntax.uid) }
            for (sop, tss) in pairs.sorted(by: { $0.key < $1.key }) {
                for ts in tss.sorted() where ts != TransferSyntax.explicitVRLittleEndianUID && ts != TransferSyntax.implicitVRLittleEndianUID {
                    request.propose(sop, transferSyntaxes: [ts])
                }
                request.propose(sop, transferSyntaxes: [TransferSyntax.explicitVRLittleEndianUID, TransferSyntax.implicitVRLittleEndianUID])
            }
            guard request.presentationContexts.count <= 128 else {
                complain("store: the files need \(request.presentationContexts.count) presentation contexts; an association allows 128")
                return 1
            }
            let assoc = try request.open()
            let start = Date()
            var sent = 0
            var bytes = 0
            for (i, f) in files.enumerated() {
                do {
                    let result = try assoc.store(f)
                    if result.status.category == .success || result.status.category == .warning {
                        sent += 1
                        bytes += (try? FileManager.default.attributesOfItem(atPath: f.path)[.size] as? Int) ?? 0
                    } else {
                        failed += 1
                    }
                    if !quiet || result.status.category == .failure {
                        print("[\(i + 1)/\(files.count)] \(f.path): \(result.status)\(result.errorComment.map { " (\($0))" } ?? "")")
                    }
                } catch let e as AssociationError {
                    if case .noPresentationContext = e { complain("\(f.path): \(e)"); failed += 1; continue }
                    throw e
                }
            }
            try assoc.release()
            let seconds = max(Date().timeIntervalSince(start), 1e-6)
            print(String(format: "sent %d of %d file(s), %.1f MB in %.2f s (%.0f files/s)", sent, files.count, Double(bytes) / 1e6, seconds, Double(sent) / seconds))
            return failed == 0 ? 0 : 1
        } catch {
            return failure("store", error)
        }
    }
}

struct StoreSCPCommand: Command {
    let summary = "receive images into a folder (like DCMTK storescp)"
    let help = """
    usage: dicomnode storescp [options] PORT

    Accepts C-ECHO and C-STORE for every storage SOP class in every transfer syntax and writes
    each instance to FOLDER/<SOPInstanceUID>.dcm as received (temporary file, fsync, rename)
    before answering success. Runs until interrupted.

    options:
      --aet AE          our AE title (default STORESCP); requests to another title are rejected
      --accept-any-ae   accept any called AE title
      --allow AE,AE     accept only these calling AE titles
      --host ADDR       address to listen on (default 127.0.0.1)
      --output FOLDER   where to write (default ./received)
      --max-pdu BYTES   the largest PDU we receive (default 262144)
      --no-fsync        answer success before the data reaches the disk (unsafe; for measuring only)
      --tls-cert PEM    serve TLS (PS3.15 B.1) with this certificate and --tls-key KEY
      --tls-ca PEM      require client certificates signed by these CAs
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(args, valued: ["--aet", "--allow", "--host", "--output", "--max-pdu", "--tls-cert", "--tls-key", "--tls-ca"], switches: ["--accept-any-ae", "--no-fsync"])
            guard parsed.positional.count == 1, let port = UInt16(parsed.positional[0]) else { throw UsageError("give the port to listen on") }
            var policy = AcceptorPolicy.storageSCP(aeTitle: parsed.options["--aet"] ?? "STORESCP")
            policy.checkCalledAETitle = !parsed.flags.contains("--accept-any-ae")
            if let allow = parsed.options["--allow"] { policy.allowedCallingAETitles = Set(allow.split(separator: ",").map(String.init)) }
            if let m = parsed.options["--max-pdu"] {
                guard let v = UInt32(m), v >= 4096 else { throw UsageError("--max-pdu takes a number of bytes >= 4096") }
                policy.maxPDULength = v
            }
            let storage = try FolderStorage(folder: parsed.options["--output"] ?? "received", durable: !parsed.flags.contains("--no-fsync"))
            let server = DicomServer(policy: policy, storage: storage)
            if let cert = parsed.options["--tls-cert"] {
                guard let key = parsed.options["--tls-key"] else { throw UsageError("--tls-cert needs --tls-key") }
                let ca = parsed.options["--tls-ca"]
                server.tls = try TLSContext(.server(certificate: cert, key: key, trusted: ca, requireClientCertificate: ca != nil), isServer: true)
            }
            try server.start(host: parsed.options["--host"] ?? "127.0.0.1", port: port)
            signal(SIGPIPE, SIG_IGN)
            while true { sleep(3600) }
        } catch {
            return failure("storescp", error)
        }
    }
}
