import Codec

/// A DIMSE command set (PS3.7 6.3.1, 9.3, 10.3): the group 0000 elements that open every DIMSE
/// message, always encoded in Implicit VR Little Endian whatever the presentation context's
/// transfer syntax (PS3.7 6.3.1), and led by (0000,0000) Command Group Length.
///
/// The typed properties read and write `dataSet`; setting one to nil removes its element.
/// (0000,0000) is not kept up to date in `dataSet`: `encoded()` computes it afresh.
public struct Command: Sendable, Hashable, CustomStringConvertible {
    public var dataSet: DataSet

    public init(dataSet: DataSet = DataSet()) {
        self.dataSet = dataSet
    }

    /// The Verification SOP Class, the Affected SOP Class of C-ECHO (PS3.4 A.4).
    public static let verificationSOPClassUID = "1.2.840.10008.1.1"

    /// (0000,0800) values: 0101H means no data set follows (PS3.7 E.1); any other value means one
    /// does. 0001H is what DCMTK and pynetdicom write, so it is what we write.
    public static let noDataSet: UInt16 = 0x0101
    public static let dataSetPresent: UInt16 = 0x0001

    /// The command elements of PS3.7 E.1 Table E.1-1 that this module reads or writes.
    public enum Tags {
        public static let commandGroupLength = Tag(0x0000_0000)
        public static let affectedSOPClassUID = Tag(0x0000_0002)
        public static let requestedSOPClassUID = Tag(0x0000_0003)
        public static let commandField = Tag(0x0000_0100)
        public static let messageID = Tag(0x0000_0110)
        public static let messageIDBeingRespondedTo = Tag(0x0000_0120)
        public static let moveDestination = Tag(0x0000_0600)
        public static let priority = Tag(0x0000_0700)
        public static let commandDataSetType = Tag(0x0000_0800)
        public static let status = Tag(0x0000_0900)
        public static let offendingElement = Tag(0x0000_0901)
        public static let errorComment = Tag(0x0000_0902)
        public static let errorID = Tag(0x0000_0903)
        public static let affectedSOPInstanceUID = Tag(0x0000_1000)
        public static let requestedSOPInstanceUID = Tag(0x0000_1001)
        public static let eventTypeID = Tag(0x0000_1002)
        public static let attributeIdentifierList = Tag(0x0000_1005)
        public static let actionTypeID = Tag(0x0000_1008)
        public static let numberOfRemainingSuboperations = Tag(0x0000_1020)
        public static let numberOfCompletedSuboperations = Tag(0x0000_1021)
        public static let numberOfFailedSuboperations = Tag(0x0000_1022)
        public static let numberOfWarningSuboperations = Tag(0x0000_1023)
        public static let moveOriginatorApplicationEntityTitle = Tag(0x0000_1030)
        public static let moveOriginatorMessageID = Tag(0x0000_1031)
    }

    // MARK: typed views

    public var commandField: CommandField? {
        get { uint16(Tags.commandField).flatMap(CommandField.init(rawValue:)) }
        set { setUInt16(Tags.commandField, newValue?.rawValue) }
    }
    public var messageID: UInt16? {
        get { uint16(Tags.messageID) }
        set { setUInt16(Tags.messageID, newValue) }
    }
    public var messageIDBeingRespondedTo: UInt16? {
        get { uint16(Tags.messageIDBeingRespondedTo) }
        set { setUInt16(Tags.messageIDBeingRespondedTo, newValue) }
    }
    public var affectedSOPClassUID: String? {
        get { text(Tags.affectedSOPClassUID) }
        set { setText(Tags.affectedSOPClassUID, .UI, newValue) }
    }
    public var affectedSOPInstanceUID: String? {
        get { text(Tags.affectedSOPInstanceUID) }
        set { setText(Tags.affectedSOPInstanceUID, .UI, newValue) }
    }
    public var requestedSOPClassUID: String? {
        get { text(Tags.requestedSOPClassUID) }
        set { setText(Tags.requestedSOPClassUID, .UI, newValue) }
    }
    public var requestedSOPInstanceUID: String? {
        get { text(Tags.requestedSOPInstanceUID) }
        set { setText(Tags.requestedSOPInstanceUID, .UI, newValue) }
    }
    /// nil when absent or not one of the three values PS3.7 E.1 allows.
    public var priority: Priority? {
        get { uint16(Tags.priority).flatMap(Priority.init(rawValue:)) }
        set { setUInt16(Tags.priority, newValue?.rawValue) }
    }
    /// The raw (0000,0800) Command Data Set Type.
    public var commandDataSetType: UInt16? {
        get { uint16(Tags.commandDataSetType) }
        set { setUInt16(Tags.commandDataSetType, newValue) }
    }
    /// Whether a data set (or identifier) follows this command: (0000,0800) is present and not 0101H.
    public var hasDataSet: Bool {
        get { commandDataSetType.map { $0 != Command.noDataSet } ?? false }
        set { commandDataSetType = newValue ? Command.dataSetPresent : Command.noDataSet }
    }
    public var status: DIMSEStatus? {
        get { uint16(Tags.status).map(DIMSEStatus.init(rawValue:)) }
        set { setUInt16(Tags.status, newValue?.rawValue) }
    }
    /// C-MOVE-RQ (0000,0600): the AE title the C-STORE sub-operations go to.
    public var moveDestination: String? {
        get { text(Tags.moveDestination) }
        set { setText(Tags.moveDestination, .AE, newValue) }
    }
    /// C-STORE-RQ (0000,1030) in a C-MOVE sub-operation: the AE that asked for the move.
    public var moveOriginatorAETitle: String? {
        get { text(Tags.moveOriginatorApplicationEntityTitle) }
        set { setText(Tags.moveOriginatorApplicationEntityTitle, .AE, newValue) }
    }
    public var moveOriginatorMessageID: UInt16? {
        get { uint16(Tags.moveOriginatorMessageID) }
        set { setUInt16(Tags.moveOriginatorMessageID, newValue) }
    }
    public var remainingSubOperations: UInt16? {
        get { uint16(Tags.numberOfRemainingSuboperations) }
        set { setUInt16(Tags.numberOfRemainingSuboperations, newValue) }
    }
    public var completedSubOperations: UInt16? {
        get { uint16(Tags.numberOfCompletedSuboperations) }
        set { setUInt16(Tags.numberOfCompletedSuboperations, newValue) }
    }
    public var failedSubOperations: UInt16? {
        get { uint16(Tags.numberOfFailedSuboperations) }
        set { setUInt16(Tags.numberOfFailedSuboperations, newValue) }
    }
    public var warningSubOperations: UInt16? {
        get { uint16(Tags.numberOfWarningSuboperations) }
        set { setUInt16(Tags.numberOfWarningSuboperations, newValue) }
    }
    /// (0000,0902) LO: free text for a warning or failure (PS3.7 C.4, C.5). Command sets carry no
    /// Specific Character Set, so it is written in the default repertoire: other characters
    /// become "?", and it is cut to LO's 64 characters (PS3.5 6.2).
    public var errorComment: String? {
        get { text(Tags.errorComment) }
        set { setText(Tags.errorComment, .LO, newValue) }
    }
    /// (0000,0901) AT 1-n: the elements a failure concerns (PS3.7 C.5).
    public var offendingElements: [Tag]? {
        get { tags(Tags.offendingElement) }
        set { setTags(Tags.offendingElement, newValue) }
    }
    /// (0000,0903) US: an application-specific error code (PS3.7 C.5).
    public var errorID: UInt16? {
        get { uint16(Tags.errorID) }
        set { setUInt16(Tags.errorID, newValue) }
    }
    /// N-EVENT-REPORT (0000,1002).
    public var eventTypeID: UInt16? {
        get { uint16(Tags.eventTypeID) }
        set { setUInt16(Tags.eventTypeID, newValue) }
    }
    /// N-ACTION (0000,1008).
    public var actionTypeID: UInt16? {
        get { uint16(Tags.actionTypeID) }
        set { setUInt16(Tags.actionTypeID, newValue) }
    }
    /// N-GET-RQ (0000,1005) AT 1-n: the attributes asked for.
    public var attributeIdentifierList: [Tag]? {
        get { tags(Tags.attributeIdentifierList) }
        set { setTags(Tags.attributeIdentifierList, newValue) }
    }

    /// "C-STORE-RQ #7 1.2.840.10008.5.1.4.1.1.2", "C-FIND-RSP ↩7 0xFF00 Pending…", for logs.
    public var description: String {
        var parts = [commandField?.name ?? "(no command field)"]
        if let id = messageID { parts.append("#\(id)") }
        if let id = messageIDBeingRespondedTo { parts.append("↩\(id)") }
        if let uid = affectedSOPClassUID ?? requestedSOPClassUID { parts.append(uid) }
        if let s = status { parts.append(s.description(for: commandField)) }
        if hasDataSet { parts.append("+data set") }
        return parts.joined(separator: " ")
    }

    // MARK: element access

    /// A US value: exactly two bytes (VM 1). Anything else reads as absent; `validate()` says why.
    func uint16(_ tag: Tag) -> UInt16? {
        guard let e = dataSet[tag], case .bytes(let b) = e.value, b.count == 2 else { return nil }
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    mutating func setUInt16(_ tag: Tag, _ value: UInt16?) {
        guard let value else { dataSet.remove(tag); return }
        dataSet.set(DataElement(tag: tag, vr: .US, bytes: [UInt8(value & 0xFF), UInt8(value >> 8)]))
    }

    /// A text value with its padding (trailing NUL or space, leading spaces) removed; nil when
    /// absent or empty.
    func text(_ tag: Tag) -> String? {
        guard let e = dataSet[tag], case .bytes = e.value else { return nil }
        return e.strings(characterSet: .default).first.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Writes text in the default repertoire (command sets have no Specific Character Set,
    /// PS3.7 6.3.1), padded to even length: UI with NUL, AE and LO with a space (PS3.5 6.2).
    mutating func setText(_ tag: Tag, _ vr: VR, _ value: String?) {
        guard let value else { dataSet.remove(tag); return }
        var bytes: [UInt8] = []
        for scalar in value.unicodeScalars {
            let v = scalar.value
            // Control characters and the backslash (value delimiter) have no place in a VM-1 value.
            bytes.append(v >= 0x20 && v < 0x7F && v != 0x5C ? UInt8(v) : 0x3F)
        }
        if vr == .LO && bytes.count > 64 { bytes.removeLast(bytes.count - 64) }
        if bytes.count % 2 == 1 { bytes.append(vr.paddingByte) }
        dataSet.set(DataElement(tag: tag, vr: vr, bytes: bytes))
    }

    func tags(_ tag: Tag) -> [Tag]? {
        guard let e = dataSet[tag], case .bytes(let b) = e.value, b.count % 4 == 0 else { return nil }
        return e.tagValues()
    }

    mutating func setTags(_ tag: Tag, _ value: [Tag]?) {
        guard let value else { dataSet.remove(tag); return }
        var bytes: [UInt8] = []
        for t in value {
            bytes += [UInt8(t.group & 0xFF), UInt8(t.group >> 8), UInt8(t.element & 0xFF), UInt8(t.element >> 8)]
        }
        dataSet.set(DataElement(tag: tag, vr: .AT, bytes: bytes))
    }

    // MARK: encoding

    /// The command set in Implicit VR Little Endian (PS3.7 6.3.1): (0000,0000) first, holding the
    /// byte count of the elements after it (PS3.5 7.2), then the other group 0000 elements in
    /// ascending tag order. Elements of other groups are not part of a command set and are left
    /// out (`validate()` reports them).
    public func encoded() -> [UInt8] {
        var body: [UInt8] = []
        let elements = dataSet.elements
            .filter { $0.tag.group == 0 && $0.tag != Tags.commandGroupLength }
            .sorted { $0.tag < $1.tag }
        for e in elements {
            switch e.value {
            case .bytes, .deferred:
                var value = Array(e.bytes)
                if value.count % 2 == 1 { value.append(e.vr.paddingByte) }  // PS3.5 7.1.1: even lengths
                Command.appendHeader(e.tag, length: UInt32(value.count), to: &body)
                body += value
            case .sequence, .encapsulated:
                // No command element is a sequence (PS3.7 E.1); one put in by hand is written as Codec
                // writes it, which cannot fail for in-memory values.
                body += (try? DicomFile.encode(DataSet(elements: [e]), transferSyntax: .implicitVRLittleEndian)) ?? []
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(12 + body.count)
        Command.appendHeader(Tags.commandGroupLength, length: 4, to: &out)
        let n = UInt32(body.count)
        out += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        return out + body
    }

    private static func appendHeader(_ tag: Tag, length: UInt32, to out: inout [UInt8]) {
        out += [UInt8(tag.group & 0xFF), UInt8(tag.group >> 8), UInt8(tag.element & 0xFF), UInt8(tag.element >> 8),
                UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
    }

    // MARK: decoding

    /// Parses a command set (the bytes of its command PDVs joined, PS3.8 9.3.5.1) with Codec in
    /// Implicit VR Little Endian. Throws `DIMSEError` when the bytes are not a data set, hold
    /// elements outside group 0000 or sequences, or have no known (0000,0100) Command Field.
    /// The other required elements are `validate()`'s job, so a responder can still read the
    /// Message ID of a faulty request and answer it with a failure status.
    /// (0000,0000) is not checked against the bytes: the PDV boundary already delimits the set.
    public static func decode(_ bytes: [UInt8]) throws(DIMSEError) -> Command {
        let ds: DataSet
        do {
            ds = try DicomFile.decode(bytes, transferSyntax: .implicitVRLittleEndian)
        } catch {
            throw .unreadable(reason: "\(error)")
        }
        var consumed = 0
        for e in ds.elements {
            guard e.tag.group == 0 else { throw .notACommandElement(e.tag) }
            guard case .bytes(let value) = e.value else {
                throw .invalidValue(e.tag, reason: "a sequence, where command elements hold plain values (PS3.7 E.1)")
            }
            consumed += 8 + value.count
        }
        // Codec passes over a tail too short for an element header; in a command set that is a
        // cut-off element, not padding.
        if consumed != bytes.count {
            throw .unreadable(reason: "\(bytes.count - consumed) byte(s) after the last whole element")
        }
        let command = Command(dataSet: ds)
        guard ds.contains(Tags.commandField) else { throw .missingCommandField }
        guard let raw = command.uint16(Tags.commandField) else {
            throw .invalidValue(Tags.commandField, reason: "\(ds[Tags.commandField]?.valueLength ?? 0) bytes where US takes 2")
        }
        guard CommandField(rawValue: raw) != nil else { throw .unknownCommandField(raw) }
        return command
    }
}
