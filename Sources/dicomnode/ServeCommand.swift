import Foundation
import Node
import RestBridge

/// `dicomnode serve`: the node with its store, index and SCPs, until SIGINT or SIGTERM.
struct ServeCommand: Command {
    let summary = "run the node: durable store, index, SCP with C-STORE/FIND/MOVE/GET"
    let help = """
    usage: dicomnode serve [options]

    Runs the node on its embedded defaults: data folder ./data (SQLite index, images),
    DICOM SCP on 127.0.0.1:11112 with AE title DICOMNODE, accepting every storage SOP class and
    Query/Retrieve (Patient and Study Root: C-FIND, C-MOVE, C-GET), and HTTP on 127.0.0.1:5000
    (GET /api/system/health so far; the REST APIs are being added). Every C-STORE is answered
    only after the image is written, fsynced and indexed. SIGINT/SIGTERM stop it gracefully:
    no new associations, open ones finish.

    options:
      --config FILE       JSON configuration (every key optional; see README for the keys)
      --data FOLDER       data folder (default ./data)
      --host ADDR         address of the DICOM and HTTP listeners (default 127.0.0.1)
      --port PORT         DICOM port (default 11112)
      --ae AE             our AE title (default DICOMNODE)
      --http-port PORT    HTTP port (default 5000; 0 picks a free one)
      --duplicates POLICY what a re-sent SOP Instance UID does: replace (default), keep, reject
      --move-destination AE=HOST:PORT   a C-MOVE destination (repeatable via commas)
      --log-level LEVEL   debug, info (default), warning, error
      --no-fsync          acknowledge before data reaches the disk (unsafe; for measuring only)
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(args, valued: ["--config", "--data", "--host", "--port", "--ae", "--http-port", "--duplicates",
                                                            "--move-destination", "--log-level"],
                                             switches: ["--no-fsync"])
            guard parsed.positional.isEmpty else { throw UsageError("unexpected argument \(parsed.positional[0])") }
            var config = try parsed.options["--config"].map { try NodeConfig.load(path: $0) } ?? NodeConfig()
            if let v = parsed.options["--data"] { config.dataFolder = v }
            if let v = parsed.options["--host"] { config.dicom.host = v; config.http.host = v }
            if let v = parsed.options["--port"] { guard let p = Int(v) else { throw UsageError("--port takes a number") }; config.dicom.port = p }
            if let v = parsed.options["--http-port"] { guard let p = Int(v) else { throw UsageError("--http-port takes a number") }; config.http.port = p }
            if let v = parsed.options["--ae"] { config.dicom.aeTitle = v }
            if let v = parsed.options["--duplicates"] { config.duplicatePolicy = v }
            if let v = parsed.options["--log-level"] { config.logLevel = v }
            if parsed.flags.contains("--no-fsync") { config.durable = false }
            if let v = parsed.options["--move-destination"] {
                for item in v.split(separator: ",") {
                    let parts = item.split(separator: "=", maxSplits: 1)
                    let hp = parts.count == 2 ? parts[1].split(separator: ":") : []
                    guard hp.count == 2, let port = Int(hp[1]) else { throw UsageError("--move-destination takes AE=HOST:PORT") }
                    config.moveDestinations[String(parts[0])] = .init(host: String(hp[0]), port: port)
                }
            }
            signal(SIGPIPE, SIG_IGN)
            let node = try NodeServer(config: config)
            try node.start()
            // Graceful shutdown on SIGINT/SIGTERM or POST /api/system/stop: handled on a queue, not in the signal handler.
            let stopping = DispatchSemaphore(value: 0)
            let http = try RestBridge(node: node, onStop: { stopping.signal() })
            try http.start()
            var sources: [DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler { stopping.signal() }
                s.resume()
                sources.append(s)
            }
            stopping.wait()
            http.stop()
            node.stop()
            _ = sources
            return 0
        } catch {
            return failure("serve", error)
        }
    }
}
