/// "0019xx10" at `at` → (0x00190010, 0xFFFF00FF): eight hex digits where 'x' is any digit, as the
/// generated tables write repeating groups (PS3.5 7.6) and private blocks (PS3.5 7.8.1).
/// A malformed row is a bug in a generated file, hence a precondition and not a thrown error.
func parseTagPattern(_ buf: UnsafeBufferPointer<UInt8>, at: Int, table: StaticString) -> (value: UInt32, mask: UInt32) {
    precondition(at + 8 <= buf.count, "\(table): bad tag field")
    var value: UInt32 = 0, mask: UInt32 = 0
    for p in at..<(at + 8) {
        let c = buf[p]
        var digit: UInt32, m: UInt32 = 0xF
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c &- UInt8(ascii: "A")) + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c &- UInt8(ascii: "a")) + 10
        case UInt8(ascii: "x"), UInt8(ascii: "X"): digit = 0; m = 0
        default: preconditionFailure("\(table): bad tag field")
        }
        value = value << 4 | digit
        mask = mask << 4 | m
    }
    return (value, mask)
}
