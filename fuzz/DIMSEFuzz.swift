// libFuzzer entry point for the DIMSE command-set decoder (PS3.7 9.3, 10.3): arbitrary bytes are
// decoded as a command set the way a P-DATA command fragment would be. Whatever decodes must be
// validated without crashing, re-encode, and decode again to the same command.
// Built by scripts/fuzz.sh in one module with the Codec sources and Sources/DicomNet/DIMSE.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDIMSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let command = try? Command.decode(bytes) else { return 0 }
    _ = command.validationErrors()
    _ = command.description
    let encoded = command.encoded()
    guard let again = try? Command.decode(encoded) else { fatalError("re-encoded command does not decode") }
    if again.encoded() != encoded { fatalError("command does not re-encode identically") }
    return 0
}
