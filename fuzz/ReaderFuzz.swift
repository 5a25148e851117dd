// libFuzzer entry point: read any bytes as a DICOM file; whatever reads must also write and read back.
// Built together with the Codec sources by scripts/fuzz.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? DicomFile.read(bytes: bytes) else { return 0 }
    _ = DumpFormatter().format(file)
    _ = JSONModel.object(file.dataSet)
    if let written = try? file.encoded() {
        // What we wrote must be readable by us again.
        if (try? DicomFile.read(bytes: written)) == nil { fatalError("wrote a file we cannot read back") }
    }
    return 0
}
