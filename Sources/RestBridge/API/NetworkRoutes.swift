import Foundation
import Node

/// `/api/scps`, `/api/scus` (and send), `/api/sources`, `/api/destinations`.
extension SliceboxAPI {
    func addNetworkRoutes(_ api: inout APIRouter) {
        let node = self.node

        api.get("/scps") { r, _ in
            let (start, count) = try r.paging()
            return .json(try node.listSCPs().dropFirst(start).prefix(count).map(SCPJSON.init))
        }
        api.post("/scps", .administrator) { r, _ in
            let scp = try r.seedBody(SCPJSON.self)
            return .json(SCPJSON(try node.addSCP(name: scp.name, aeTitle: scp.aeTitle, port: scp.port)), status: .created)
        }
        api.delete("/scps/{id}", .administrator) { r, _ in try node.removeSCP(id: try r.id()); return .empty() }

        api.get("/scus") { r, _ in
            let (start, count) = try r.paging()
            return .json(try node.listSCUs().dropFirst(start).prefix(count).map(SCUJSON.init))
        }
        api.post("/scus", .administrator) { r, _ in
            let scu = try r.seedBody(SCUJSON.self)
            return .json(SCUJSON(try node.addSCU(name: scu.name, aeTitle: scu.aeTitle, host: scu.host, port: scu.port)), status: .created)
        }
        api.delete("/scus/{id}", .administrator) { r, _ in try node.removeSCU(id: try r.id()); return .empty() }
        api.post("/scus/{id}/send") { r, user in
            let id = try r.id()
            let ids = try r.seedBody([Int64].self)
            guard try node.listSCUs().contains(where: { $0.id == id }) else { throw HTTPError(.notFound, "no SCU with id \(id)") }
            let result: (sent: Int, failed: [String])
            do {
                result = try node.send(imageIds: ids, toSCU: id)
            } catch let e as NodeError {
                throw e
            } catch {
                throw HTTPError(.badGateway, "the SCU could not be reached or refused the association: \(error)")
            }
            guard result.failed.isEmpty else {
                throw HTTPError(.badGateway, "the peer refused \(result.failed.count) of \(ids.count) images: \(result.failed.prefix(5).joined(separator: ", "))")
            }
            node.log.log(.info, "scu", "send requested", ["user": user.name, "scu": "\(id)", "images": "\(ids.count)"])
            return .empty()
        }

        api.get("/sources") { [auth] _, _ in
            var sources: [SourceJSON] = []
            for u in try auth.users.list(count: 1_000_000) { sources.append(SourceJSON(Source(type: .user, name: u.user, id: u.id))) }
            for s in try node.listSCPs() { sources.append(SourceJSON(Source(type: .scp, name: s.name, id: s.id))) }
            sources += try self.extraSources()
            return .json(sources)
        }
        api.get("/destinations") { _, _ in
            .json(try node.forwarding.destinations().map {
                DestinationJSON(destinationType: $0.destinationType.rawValue, destinationName: $0.destinationName, destinationId: $0.destinationId)
            })
        }
    }
}
