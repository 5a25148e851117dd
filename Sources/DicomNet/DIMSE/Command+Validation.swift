import Codec

// What each command must carry: the "M" rows of PS3.7 9.3 (DIMSE-C) and 10.3 (DIMSE-N) and the
// fixed Command Data Set Type values those tables give.

extension Command {
    /// Throws the first problem `validationErrors()` finds.
    public func validate() throws(DIMSEError) {
        if let first = validationErrors().first { throw first }
    }

    /// Every way this command set falls short of PS3.7: elements outside group 0000, a missing or
    /// unknown Command Field, required elements missing or empty, values of the wrong size, a
    /// Command Data Set Type its table forbids, and a bad Priority. Empty when valid.
    public func validationErrors() -> [DIMSEError] {
        var errors: [DIMSEError] = []
        for e in dataSet.elements {
            guard e.tag.group == 0 else { errors.append(.notACommandElement(e.tag)); continue }
            if let reason = Command.malformation(of: e) { errors.append(.invalidValue(e.tag, reason: reason)) }
        }
        guard dataSet.contains(Tags.commandField) else { return [.missingCommandField] + errors }
        guard let field = commandField else {
            // A wrong-sized value is already reported above.
            if let raw = uint16(Tags.commandField) { errors.append(.unknownCommandField(raw)) }
            return errors
        }

        for tag in Command.requiredTags(field) {
            guard let e = dataSet[tag] else { errors.append(.missingElement(tag, command: field)); continue }
            // The UIDs and AE titles a table requires are Type 1: present means with a value.
            if e.vr == .UI || e.vr == .AE, text(tag) == nil, Command.malformation(of: e) == nil {
                errors.append(.invalidValue(tag, reason: "empty, where \(field.name) needs a value"))
            }
        }
        if let mustHave = Command.dataSetRequirement(field), dataSet.contains(Tags.commandDataSetType),
           uint16(Tags.commandDataSetType) != nil, hasDataSet != mustHave {
            errors.append(.unexpectedDataSetType(command: field, hasDataSet: hasDataSet))
        }
        if let raw = uint16(Tags.priority), Priority(rawValue: raw) == nil {
            errors.append(.invalidValue(Tags.priority, reason: "\(raw) is none of MEDIUM (0), HIGH (1), LOW (2)"))
        }
        // Pending C-GET/C-MOVE responses report progress: all four counts (PS3.7 9.1.3.1.7–10,
        // 9.1.4.1.7–10; PS3.4 Tables C.4-2, C.4-3).
        if field == .cMoveRSP || field == .cGetRSP, status?.category == .pending {
            for tag in [Tags.numberOfRemainingSuboperations, Tags.numberOfCompletedSuboperations,
                        Tags.numberOfFailedSuboperations, Tags.numberOfWarningSuboperations] where !dataSet.contains(tag) {
                errors.append(.missingElement(tag, command: field))
            }
        }
        return errors
    }

    /// Why an element's value cannot be what its VR says (PS3.5 6.2, PS3.7 E.1), or nil.
    static func malformation(of e: DataElement) -> String? {
        guard case .bytes(let b) = e.value else { return "not a plain value; command elements are never sequences (PS3.7 E.1)" }
        switch DataDictionary.vr(for: e.tag) {
        case .US where b.count != 2: return "\(b.count) bytes where US (VM 1) takes 2"
        case .UL where b.count != 4: return "\(b.count) bytes where UL takes 4"
        case .AT where b.count % 4 != 0: return "\(b.count) bytes, not a whole number of 4-byte tags"
        default: return nil
        }
    }

    /// The mandatory elements of each command besides (0000,0000), which `encoded()` writes, and
    /// (0000,0100), checked first.
    static func requiredTags(_ field: CommandField) -> [Tag] {
        let t = Tags.self
        switch field {
        case .cStoreRQ:         // Table 9.3-1
            return [t.affectedSOPClassUID, t.messageID, t.priority, t.commandDataSetType, t.affectedSOPInstanceUID]
        case .cFindRQ, .cGetRQ: // Tables 9.3-3, 9.3-6
            return [t.affectedSOPClassUID, t.messageID, t.priority, t.commandDataSetType]
        case .cMoveRQ:          // Table 9.3-9
            return [t.affectedSOPClassUID, t.messageID, t.priority, t.commandDataSetType, t.moveDestination]
        case .cEchoRQ:          // Table 9.3-12
            return [t.affectedSOPClassUID, t.messageID, t.commandDataSetType]
        case .cCancelRQ:        // Tables 9.3-5, 9.3-8, 9.3-11
            return [t.messageIDBeingRespondedTo, t.commandDataSetType]
        case .nEventReportRQ:   // Table 10.3-1
            return [t.affectedSOPClassUID, t.messageID, t.commandDataSetType, t.affectedSOPInstanceUID, t.eventTypeID]
        case .nGetRQ, .nSetRQ, .nDeleteRQ: // Tables 10.3-3, 10.3-5, 10.3-11
            return [t.requestedSOPClassUID, t.messageID, t.commandDataSetType, t.requestedSOPInstanceUID]
        case .nActionRQ:        // Table 10.3-7
            return [t.requestedSOPClassUID, t.messageID, t.commandDataSetType, t.requestedSOPInstanceUID, t.actionTypeID]
        case .nCreateRQ:        // Table 10.3-9
            return [t.affectedSOPClassUID, t.messageID, t.commandDataSetType]
        case .cStoreRSP, .cFindRSP, .cGetRSP, .cMoveRSP, .cEchoRSP,
             .nEventReportRSP, .nGetRSP, .nSetRSP, .nActionRSP, .nCreateRSP, .nDeleteRSP:
            return [t.messageIDBeingRespondedTo, t.commandDataSetType, t.status]
        }
    }

    /// true: the table requires a data set (a value other than 0101H); false: it requires 0101H;
    /// nil: either, by the service's rules.
    static func dataSetRequirement(_ field: CommandField) -> Bool? {
        switch field {
        case .cStoreRQ, .cFindRQ, .cGetRQ, .cMoveRQ, .nSetRQ: return true
        case .cStoreRSP, .cEchoRQ, .cEchoRSP, .cCancelRQ, .nGetRQ, .nDeleteRQ, .nDeleteRSP: return false
        default: return nil
        }
    }
}
