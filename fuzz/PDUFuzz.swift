// libFuzzer entry point for the PS3.8 Upper Layer PDU decoder: arbitrary bytes are read as a PDU
// the way the transport does — header through PDU.parseHeader, then the body it announces.
// Whatever decodes must re-encode to bytes that decode to an equal value and re-encode identically.
// Built with the sources of Sources/DicomNet/PDU in one module (like ReaderFuzz.swift with Codec),
// or against a built DicomNet module.
#if canImport(DicomNet)
import DicomNet
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPDU(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    guard let (type, length) = try? PDU.parseHeader(raw) else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A truncated input stands for a short read; the decoder sees what arrived, up to the announced length.
    let end = min(size, PDU.headerLength + Int(length))
    // Decode from a slice that does not start at index 0, as a receive buffer would be.
    guard let pdu = try? PDU.decode(type: type, body: bytes[PDU.headerLength..<end]) else { return 0 }
    _ = String(describing: pdu)
    let encoded = pdu.encoded()
    let again: PDU
    do {
        again = try PDU.decode(encoded)
    } catch {
        fatalError("re-encoded \(pdu.type) does not decode: \(error)")
    }
    if again != pdu { fatalError("re-encoded \(pdu.type) decodes to a different value:\n\(pdu)\n\(again)") }
    if again.encoded() != encoded { fatalError("\(pdu.type) does not re-encode identically") }
    return 0
}
