import Foundation
import Node

/// `/api/log`: the persisted system log, newest first, by subject and type.
extension SliceboxAPI {
    func addLogRoutes(_ api: inout APIRouter) {
        let index = node.index, log = node.log
        api.get("/log") { r, _ in
            let (start, count) = try r.paging()
            var type: LogEntryType? = nil
            if let t = r.query["type"], !t.isEmpty {
                guard let v = LogEntryType(rawValue: t.uppercased()) else {
                    throw HTTPError(.badRequest, "type must be one of \(LogEntryType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                type = v
            }
            log.flush()
            let subject = r.query["subject"].flatMap { $0.isEmpty ? nil : $0 }
            return .json(try index.logEntries(startIndex: start, count: count, subject: subject, type: type).map(LogEntryJSON.init))
        }
        api.delete("/log") { _, _ in log.flush(); try index.clearLog(); return .empty() }
        api.delete("/log/{id}") { r, _ in try index.deleteLogEntry(id: try r.id()); return .empty() }
    }
}
