import Foundation
import Codec
import DicomNet

/// C-MOVE and C-GET from the store (PS3.4 C.4.2, C.4.3): the unique keys of the identifier, down
/// to the requested level, select the instances (PS3.4 C.2.2.1.1: a key may be a list of UIDs).
public struct StoreRetrieve: RetrieveHandler {
    public let ingest: Ingest

    public init(ingest: Ingest) { self.ingest = ingest }

    public func instances(for request: RetrieveRequest) throws -> [StorableFile] {
        guard let level = Level(rawValue: request.level) else {
            throw QueryRetrieveError.identifierDoesNotMatch("unknown Query/Retrieve Level \(request.level)", offending: [.queryRetrieveLevel])
        }
        // The unique key of every level from the top of the model down to the requested one.
        let uniqueKeys: [(Level, Tag, String)] = [(.patient, .patientID, "p.patient_id"), (.study, .studyInstanceUID, "st.study_instance_uid"),
                                                  (.series, .seriesInstanceUID, "se.series_instance_uid"), (.image, .sopInstanceUID, "im.sop_instance_uid")]
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        for (keyLevel, tag, column) in uniqueKeys where keyLevel <= level {
            let values = (request.identifier.strings(tag) ?? []).filter { !$0.isEmpty }
            if values.isEmpty {
                // The requested level's unique key is required (PS3.4 C.4.2.2.1); above it, Study
                // Root has no patient level and a missing key means "any".
                if keyLevel == level {
                    throw QueryRetrieveError.identifierDoesNotMatch("\(request.level) retrieve needs \(tag) as its unique key", offending: [tag])
                }
                continue
            }
            conditions.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ",")))")
            parameters += values.map { .text($0) }
        }
        let sql = """
            SELECT im.storage_key, im.sop_class_uid, im.sop_instance_uid, im.transfer_syntax_uid
            FROM patients p JOIN studies st ON st.patient_ref = p.id JOIN series se ON se.study_ref = st.id
            JOIN images im ON im.series_ref = se.id WHERE \(conditions.joined(separator: " AND "))
            ORDER BY se.id, CAST(im.instance_number AS INTEGER), im.id
            """
        let rows = try ingest.index.db.read { try $0.query(sql, parameters) }
        ingest.settle()  // files acknowledged a moment ago are in their final place
        return rows.compactMap { r in
            guard let key = r[0].string else { return nil }
            // A file that vanished is still offered: its C-STORE sub-operation fails and is
            // counted as failed with its UID, rather than silently dropped.
            let path = ingest.store.readablePath(forKey: key) ?? ingest.store.finalPath(forKey: key)
            return StorableFile(path: path, sopClassUID: r[1].string ?? "", sopInstanceUID: r[2].string ?? "",
                                transferSyntax: TransferSyntax(uid: r[3].string ?? TransferSyntax.explicitVRLittleEndianUID))
        }
    }
}
