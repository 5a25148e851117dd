import Foundation

/// A subcommand: its help text and its body, which returns the process exit status.
protocol Command {
    var summary: String { get }
    var help: String { get }
    func run(_ args: [String]) -> Int32
}

/// Prints to stderr with the program name, as command-line tools do.
func complain(_ message: String) {
    FileHandle.standardError.write("dicomnode: \(message)\n".data(using: .utf8)!)
}

/// Splits `--flag value` options from positional arguments. Flags in `switches` take no value.
struct ParsedArguments {
    var options: [String: String] = [:]
    var flags: Set<String> = []
    var positional: [String] = []

    init(_ args: [String], valued: Set<String>, switches: Set<String>) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if valued.contains(a) {
                guard i + 1 < args.count else { throw UsageError("\(a) needs a value") }
                options[a] = args[i + 1]
                i += 2
            } else if switches.contains(a) {
                flags.insert(a)
                i += 1
            } else if a.hasPrefix("--") {
                throw UsageError("unknown option \(a)")
            } else {
                positional.append(a)
                i += 1
            }
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Files named on the command line, with folders walked recursively in name order.
func expandPaths(_ paths: [String]) -> [String] {
    var out: [String] = []
    let fm = FileManager.default
    for p in paths {
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
            guard let e = fm.enumerator(atPath: p) else { continue }
            var files: [String] = []
            while let rel = e.nextObject() as? String {
                let full = (p as NSString).appendingPathComponent(rel)
                var d: ObjCBool = false
                if fm.fileExists(atPath: full, isDirectory: &d), !d.boolValue { files.append(full) }
            }
            out += files.sorted()
        } else {
            out.append(p)
        }
    }
    return out
}

/// Buffered stdout: dumping thousands of files must not pay a syscall per line.
final class StandardOutput {
    var buffer: [UInt8] = []
    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        flushIfLarge()
    }
    func flushIfLarge() { if buffer.count > 1 << 16 { flush() } }
    func flush() {
        buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let r = Glibc.write(1, raw.baseAddress! + done, raw.count - done)
                if r <= 0 { if errno == EINTR { continue }; return }
                done += r
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Reports a command's failure and gives its exit status: 2 for wrong usage, 1 for anything else.
func failure(_ command: String, _ error: Error) -> Int32 {
    complain("\(command): \(error)")
    return error is UsageError ? 2 : 1
}
