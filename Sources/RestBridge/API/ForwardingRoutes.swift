import Foundation
import Node

/// `/api/forwarding`: rules (seed 003 `forwardingrule`) and, beyond the seed, their transactions
/// with status, so a user can see what was sent, what waits and why something failed.
struct ForwardingRuleJSON: Codable {
    var id: Int64?
    var source: SourceJSON
    var destination: DestinationJSON
    var keepImages: Bool
    init(_ r: ForwardingRule) {
        id = r.id; source = SourceJSON(r.source); keepImages = r.keepImages
        destination = DestinationJSON(destinationType: r.destination.destinationType.rawValue, destinationName: r.destination.destinationName,
                                      destinationId: r.destination.destinationId)
    }
}

struct ForwardingTransactionJSON: Encodable {
    var id, ruleId, seriesId: Int64
    var source: SourceJSON
    var destination: DestinationJSON
    var status: String
    var totalImageCount, sentImageCount, failedImageCount, attempts: Int
    var lastError: String?
    var nextAttempt: Int64?
    var created, updated: Int64
    init(_ t: ForwardingTransaction) {
        id = t.id; ruleId = t.ruleId; seriesId = t.seriesId; source = SourceJSON(t.source)
        destination = DestinationJSON(destinationType: t.destination.destinationType.rawValue, destinationName: t.destination.destinationName,
                                      destinationId: t.destination.destinationId)
        status = t.status.rawValue; totalImageCount = t.totalImageCount; sentImageCount = t.sentImageCount
        failedImageCount = t.failedImageCount; attempts = t.attempts; lastError = t.lastError; nextAttempt = t.nextAttempt
        created = t.created; updated = t.updated
    }
}

struct ForwardingImageJSON: Encodable {
    var transactionId, imageId: Int64
    var sopInstanceUID, status, message: String
    var dimseStatus: Int?
    var attempts: Int
    var updated: Int64
    init(_ i: ForwardingTransactionImage) {
        transactionId = i.transactionId; imageId = i.imageId; sopInstanceUID = i.sopInstanceUID; status = i.status.rawValue
        message = i.message; dimseStatus = i.dimseStatus.map(Int.init); attempts = i.attempts; updated = i.updated
    }
}

extension SourceJSON {
    func source() throws -> Source {
        guard let type = SourceType(rawValue: sourceType.lowercased()), type != .unknown else {
            throw HTTPError(.badRequest, "sourceType must be one of \(SourceType.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", "))")
        }
        return Source(type: type, name: sourceName, id: sourceId)
    }
}

extension SliceboxAPI {
    func addForwardingRoutes(_ api: inout APIRouter) {
        let forwarding = node.forwarding
        api.get("/forwarding/rules") { r, _ in
            let (start, count) = try r.paging()
            return .json(try forwarding.rules(startIndex: start, count: count).map(ForwardingRuleJSON.init))
        }
        api.post("/forwarding/rules", .administrator) { r, _ in
            let body = try r.seedBody(ForwardingRuleJSON.self)
            guard let type = DestinationType(rawValue: body.destination.destinationType.lowercased()) else {
                throw HTTPError(.badRequest, "destinationType must be one of \(DestinationType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let rule = ForwardingRule(id: -1, source: try body.source.source(),
                                      destination: Destination(destinationType: type, destinationName: body.destination.destinationName,
                                                               destinationId: body.destination.destinationId),
                                      keepImages: body.keepImages)
            return .json(ForwardingRuleJSON(try forwarding.addRule(rule)), status: .created)
        }
        api.delete("/forwarding/rule/{id}", .administrator) { r, _ in try forwarding.removeRule(id: r.id()); return .empty() }
        // Same with the plural path, which the seed's other resources use.
        api.delete("/forwarding/rules/{id}", .administrator) { r, _ in try forwarding.removeRule(id: r.id()); return .empty() }

        api.get("/forwarding/transactions") { r, _ in
            let (start, count) = try r.paging()
            var status: ForwardingStatus? = nil
            if let s = r.query["status"], !s.isEmpty {
                guard let v = ForwardingStatus(rawValue: s.lowercased()) else {
                    throw HTTPError(.badRequest, "status must be one of \(ForwardingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = v
            }
            let rule = try r.query["ruleid"].map { v -> Int64 in
                guard let i = Int64(v) else { throw HTTPError(.badRequest, "ruleid must be an integer") }
                return i
            }
            return .json(try forwarding.transactions(startIndex: start, count: count, status: status, ruleId: rule).map(ForwardingTransactionJSON.init))
        }
        api.get("/forwarding/transactions/{id}") { r, _ in
            let id = try r.id()
            guard let t = try forwarding.transaction(id: id) else { throw HTTPError(.notFound, "no forwarding transaction \(id)") }
            return .json(ForwardingTransactionJSON(t))
        }
        api.get("/forwarding/transactions/{id}/images") { r, _ in .json(try forwarding.transactionImages(id: r.id()).map(ForwardingImageJSON.init)) }
        api.post("/forwarding/transactions/{id}/retry") { r, _ in try forwarding.retryTransaction(id: r.id()); return .empty() }
        api.delete("/forwarding/transactions/{id}", .administrator) { r, _ in try forwarding.removeTransaction(id: r.id()); return .empty() }
    }
}
