// dicomnode: command-line entry. Argument parsing only; the work lives in the modules.
import Foundation
import Codec
import DicomNet

let arguments = Array(CommandLine.arguments.dropFirst())
let commands: [String: Command] = [
    "dump": DumpCommand(),
    "json": JSONCommand(),
    "png": PNGCommand(),
    "echo": EchoCommand(),
    "store": StoreCommand(),
    "storescp": StoreSCPCommand(),
    "find": FindCommand(),
    "move": MoveCommand(),
    "get": GetCommand(),
    "serve": ServeCommand(),
    "index-fill": IndexFillCommand(),
]

@MainActor func usage() -> String {
    """
    usage: dicomnode <command> [options]

    commands:
    \(commands.keys.sorted().map { "  \($0.padding(toLength: 8, withPad: " ", startingAt: 0)) \(commands[$0]!.summary)" }.joined(separator: "\n"))

    'dicomnode <command> --help' describes a command.
    """
}

guard let name = arguments.first else {
    FileHandle.standardError.write((usage() + "\n").data(using: .utf8)!)
    exit(2)
}
if name == "--help" || name == "-h" || name == "help" {
    print(usage())
    exit(0)
}
guard let command = commands[name] else {
    FileHandle.standardError.write("dicomnode: unknown command '\(name)'\n\(usage())\n".data(using: .utf8)!)
    exit(2)
}
let rest = Array(arguments.dropFirst())
if rest.contains("--help") || rest.contains("-h") {
    print(command.help)
    exit(0)
}
exit(command.run(rest))
