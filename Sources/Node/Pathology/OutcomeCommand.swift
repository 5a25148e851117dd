import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The outcome-prediction stage's external program (`pathology.predictCommand`): run with the
/// tiles' folder as its last argument and, in its environment, `PATHOLOGY_IMAGE_ID`,
/// `PATHOLOGY_IMAGE` (the uploaded file), `PATHOLOGY_TILES` (the folder) and `PATHOLOGY_TILE_INDEX`
/// (its index.json). What it prints on stdout (at most 64 KiB, trimmed) is the prediction; when
/// that is a JSON object with a `metric` member, the member is the image's `metric`. A non-zero
/// exit fails the stage with the end of its stderr. It is killed (SIGTERM, SIGKILL 2 s later)
/// when the job is stopped or the timeout passes.
struct OutcomeCommand {
    let arguments: [String]
    let timeout: Double

    struct Result {
        var output: String
        var metric: String?
        var seconds: Double
    }

    enum Failure: Error {
        case cancelled
        case failed(String)
    }

    func run(uniqueId: String, source: String, tiles: String, work: String, isCancelled: () -> Bool) throws -> Result {
        guard let program = arguments.first else { throw Failure.failed("no command") }
        let stdoutPath = work + "/predict.stdout", stderrPath = work + "/predict.stderr"
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil), FileManager.default.createFile(atPath: stderrPath, contents: nil),
              let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath) else {
            throw Failure.failed("cannot create its output files in \(work)")
        }
        defer { try? out.close(); try? err.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.contains("/") ? program : "/usr/bin/env")
        process.arguments = (program.contains("/") ? [] : [program]) + Array(arguments.dropFirst()) + [tiles]
        var environment = ProcessInfo.processInfo.environment
        environment["PATHOLOGY_IMAGE_ID"] = uniqueId
        environment["PATHOLOGY_IMAGE"] = source
        environment["PATHOLOGY_TILES"] = tiles
        environment["PATHOLOGY_TILE_INDEX"] = tiles + "/index.json"
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let started = Date()
        do { try process.run() } catch { throw Failure.failed("cannot start \(program): \(error.localizedDescription)") }
        var killedBecause: Failure?
        var termAt: Date?
        while process.isRunning {
            if killedBecause == nil {
                if isCancelled() { killedBecause = .cancelled } else if Date().timeIntervalSince(started) > timeout {
                    killedBecause = .failed("it ran longer than \(Int(timeout)) s and was killed")
                }
                if killedBecause != nil { process.terminate(); termAt = Date() }
            } else if let t = termAt, Date().timeIntervalSince(t) > 2 {
                kill(process.processIdentifier, SIGKILL)
                termAt = nil
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        if let killedBecause { throw killedBecause }
        let stdout = Self.read(stdoutPath, limit: 64 * 1024)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let tail = Self.read(stderrPath, limit: 64 * 1024).suffix(500)
            let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
            throw Failure.failed("\(program) \(how)\(tail.isEmpty ? "" : ": " + tail.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let output = stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var metric: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], let m = object["metric"] {
            metric = (m as? String) ?? (try? JSONSerialization.data(withJSONObject: m, options: [.fragmentsAllowed, .sortedKeys]))
                .map { String(decoding: $0, as: UTF8.self) }
        }
        return Result(output: output, metric: metric, seconds: Date().timeIntervalSince(started))
    }

    static func read(_ path: String, limit: Int) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? h.close() }
        return String(decoding: (try? h.read(upToCount: limit)) ?? Data(), as: UTF8.self)
    }
}
