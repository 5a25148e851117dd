import Foundation
import Node

/// Seed 000, the images data feed, under `/feed` (its `GET /api` and `POST /api/images` would
/// clash with the Slicebox API at `/api`): health, batch UPSERT of image records, and reading
/// them back (which the seed lacks).
final class FeedAPI: @unchecked Sendable {
    static let prefix = "/feed"
    let store: FeedStore
    let auth: FeedAuth
    let log: NodeLog

    init(node: NodeServer) throws {
        store = FeedStore(index: node.index)
        auth = FeedAuth(verifier: try JWTConfiguration.feedVerifier(node.config))
        log = node.log
    }

    func addRoutes(to router: inout Router) {
        let p = Self.prefix
        router.get(p + "/api") { _ in
            // The seed's health answer: the current UTC time as a JSON string (.NET's "o" format).
            .json(Data(("\"" + Self.timestamp(Date()) + "\"").utf8))
        }
        router.post(p + "/api/images") { r in
            let claims = try self.auth.require(r, anyOf: [FeedAuth.write])
            let body: JSONValue
            do { body = try JSONValue.parse(try r.body.readAll(limit: 64 << 20)) } catch let e as HTTPError { throw e } catch {
                return Self.fieldError("", "the body is not valid JSON")
            }
            do {
                let result = try self.store.upsert(try FeedRecordParser.parse(body))
                self.log.log(.info, "feed", "images upserted", ["created": "\(result.created.count)", "updated": "\(result.updated.count)",
                                                                 "subject": claims.string("sub") ?? "?"])
                return .json(result)
            } catch let e as FeedFieldError {
                return Self.fieldError(e.field, e.message)
            }
        }
        router.get(p + "/api/images") { r in
            _ = try self.auth.require(r, anyOf: [FeedAuth.read, FeedAuth.write])
            let (start, count) = try r.paging()
            let (images, total) = try self.store.images(startIndex: start, count: count, donorId: r.query["donor_id"])
            return HTTPResponse.json(images).with("X-Total-Count", "\(total)")
        }
        router.get(p + "/api/images/{id}") { r in
            _ = try self.auth.require(r, anyOf: [FeedAuth.read, FeedAuth.write])
            let id = try r.parameters.require("id")
            guard let image = try self.store.image(id: id) else { throw HTTPError(.notFound, "no image record with id '\(id)'") }
            return .json(image)
        }
    }

    /// 400 `{"error": "<field>: <message>", "field": "<field>"}`.
    static func fieldError(_ field: String, _ message: String) -> HTTPResponse {
        .json(["error": field.isEmpty ? message : "\(field): \(message)", "field": field], status: .badRequest)
    }

    /// `2022-03-17T09:45:10.9359202Z`: UTC with seven fractional digits, as the seed shows.
    static func timestamp(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let seconds = floor(t)
        let ticks = min(Int(((t - seconds) * 10_000_000).rounded(.down)), 9_999_999)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: seconds))
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%07dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, ticks)
    }
}
