import Foundation
import Node

/// `/pathology/Images…` records and `/pathology/Users…`: create (with the upload policy),
/// read, change, delete, list per user and grouped by user; login and logout with the session
/// cookie scoped to `/pathology`.
extension PathologyAPI {
    func addPathologyImageRoutes(_ api: inout APIRouter) {
        let service = self.service, auth = self.auth, log = self.log

        api.post("/Images") { r, user in
            let body = try Self.body(r)
            try Self.refuseUnknownKeys(body, allowed: ["patient_id", "entity_id", "filename", "userid", "workarea", "workarea_id",
                                                       "study", "study_id", "location", "description"])
            let owner = try Self.int(body, "userid") ?? user.id
            guard owner == user.id || user.role.includes(.administrator) else {
                throw HTTPError(.forbidden, "user '\(user.name)' cannot create images for user \(owner); only administrators can")
            }
            guard let filename = try Self.text(body, "filename") else { throw HTTPError(.badRequest, "the JSON body lacks 'filename'") }
            let fields = PathologyImageFields(
                patientId: try Self.text(body, "patient_id"), entityId: try Self.text(body, "entity_id"),
                workareaId: try Self.text(body, "workarea_id") ?? Self.text(body, "workarea"),
                studyId: try Self.text(body, "study_id") ?? Self.text(body, "study"), filename: filename,
                location: try Self.text(body, "location"), description: try Self.text(body, "description"))
            let image = try service.create(ownerId: owner, fields: fields)
            var object = self.json(image, r)
            object["response"] = self.uploadResponse(image, r)
            return .json(object, status: .created)
        }

        api.get("/Images/{ref}") { r, user in
            .json(self.json(try self.image(try r.parameters.require("ref"), user), r))
        }

        api.put("/Images/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user, .manage)
            let body = try Self.body(r)
            try Self.refuseUnknownKeys(body, allowed: ["status", "entity_id", "patient_id", "location", "workarea_id", "workarea",
                                                       "description", "study_id", "study", "filename"])
            let fields = PathologyImageFields(
                patientId: try Self.text(body, "patient_id"), entityId: try Self.text(body, "entity_id"),
                workareaId: try Self.text(body, "workarea_id") ?? Self.text(body, "workarea"),
                studyId: try Self.text(body, "study_id") ?? Self.text(body, "study"), filename: try Self.text(body, "filename"),
                location: try Self.text(body, "location"), description: try Self.text(body, "description"), status: try Self.text(body, "status"))
            return .json(self.json(try service.update(id: image.id, fields: fields), r))
        }

        api.delete("/Images/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user, .manage)
            try service.delete(image)
            log.log(.info, "pathology", "image deleted", ["image": image.imageUniqueId, "user": user.name])
            return .json(["success": true, "status": "Deleted image \(image.imageUniqueId)"])
        }

        // A fresh policy for an existing record (the first one expired, or the file is replaced).
        api.get("/Images/policy/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user, .manage)
            return .json(["success": true, "image_unique_id": image.imageUniqueId, "response": self.uploadResponse(image, r)])
        }

        api.get("/Images/userid/{id}") { r, user in
            let id = try r.parameters.int64("id")
            guard id == user.id || user.role.includes(.administrator) else {
                throw HTTPError(.forbidden, "user '\(user.name)' may list only their own images (user \(user.id))")
            }
            guard try service.userIds().contains(id) else { throw HTTPError(.notFound, "no user \(id)") }
            return .json(try service.images(ownedOrSharedWith: id).map { self.json($0, r) })
        }

        api.get("/Users/imagelist") { r, user in
            let users = user.role.includes(.administrator) ? try service.userIds() : [user.id]
            return .json(try users.map { id -> [String: Any] in
                ["userid": id, "images": try service.images(ownedOrSharedWith: id).map { self.json($0, r) }]
            })
        }

        // Login for clients of this API: the same sessions as /api, the cookie scoped to /pathology.
        api.publicRoute(.post, "/Users/login") { r in
            let body = try Self.body(r)
            guard let name = try Self.text(body, "user") ?? Self.text(body, "username"),
                  let pass = body["pass"] as? String ?? body["password"] as? String else {
                throw HTTPError(.badRequest, "the body needs 'user' and 'pass'")
            }
            guard let account = try auth.check(name: name, password: pass) else {
                log.log(.warning, "user", "login refused", ["user": name, "peer": r.peer, "api": "pathology"])
                throw Authenticator.unauthorized("Invalid username or password")
            }
            let token = auth.sessions.open(userId: account.id, address: Authenticator.clientAddress(r), userAgent: r.headers["User-Agent"] ?? "")
            return HTTPResponse.json(["success": true, "userid": account.id, "user": account.user], status: .created)
                .with("Set-Cookie", "\(Authenticator.cookieName)=\(token); Path=\(Self.prefix); HttpOnly; SameSite=Strict\(r.isSecure ? "; Secure" : "")")
        }
        api.publicRoute(.post, "/Users/logout") { r in
            if let token = Authenticator.sessionToken(r) { auth.sessions.close(token: token) }
            return HTTPResponse.json(["success": true])
                .with("Set-Cookie", "\(Authenticator.cookieName)=deleted; Path=\(Self.prefix); HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        }
    }

    /// `/pathology/Images/adduser|removeuser|updateuser` with `{"userid": [ids], "imageid": <image_unique_id>}`.
    func addPathologySharingRoutes(_ api: inout APIRouter) {
        let service = self.service
        for (path, change) in [("adduser", PathologyService.ShareChange.add), ("removeuser", .remove), ("updateuser", .replace)] {
            api.post("/Images/\(path)") { r, user in
                let body = try Self.body(r)
                try Self.refuseUnknownKeys(body, allowed: ["userid", "imageid"])
                guard let reference = try Self.text(body, "imageid") else { throw HTTPError(.badRequest, "the JSON body lacks 'imageid'") }
                let ids: [Int64]
                switch body["userid"] {
                case let list as [Any]:
                    ids = try list.map { v -> Int64 in
                        guard let id = (v as? NSNumber)?.int64Value ?? (v as? String).flatMap({ Int64($0) }) else {
                            throw HTTPError(.badRequest, "'userid' must be a list of user ids")
                        }
                        return id
                    }
                case nil: throw HTTPError(.badRequest, "the JSON body lacks 'userid'")
                default: ids = [try Self.int(body, "userid")!]
                }
                let image = try self.image(reference, user, .manage)
                let updated = try service.share(image, change, users: ids)
                let verb = ["adduser": "Added", "removeuser": "Removed", "updateuser": "Updated"][path]!
                return .json(["success": true, "status": "\(verb) user(s) \(ids.map(String.init).joined(separator: ",")); shared with \(updated.shared.map(String.init).joined(separator: ","))",
                              "image": self.json(updated, r)])
            }
        }
    }

    /// `/pathology/LogInfo`: add a log line to an image; list the lines of every visible image or
    /// of one (`?since=<id>` for only the lines after one already seen).
    func addPathologyLogRoutes(_ api: inout APIRouter) {
        let service = self.service
        api.post("/LogInfo") { r, user in
            let body = try Self.body(r)
            try Self.refuseUnknownKeys(body, allowed: ["imageid", "type", "message"])
            guard let reference = try Self.text(body, "imageid"), let type = try Self.text(body, "type"),
                  let message = try Self.text(body, "message") else {
                throw HTTPError(.badRequest, "the JSON body needs 'imageid', 'type' and 'message'")
            }
            let image = try self.image(reference, user)
            let entry = try service.addLog(image, type: type, message: message, userId: user.id)
            return .json(["success": true, "msg": "log added", "log": Self.json(entry)], status: .created)
        }
        api.get("/LogInfo") { r, user in
            let since = try r.query.int64("since", default: 0)
            return .json(try service.logs(of: nil, viewer: Self.viewer(user), since: since).map(Self.json))
        }
        api.get("/LogInfo/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user)
            let since = try r.query.int64("since", default: 0)
            return .json(try service.logs(of: image, viewer: Self.viewer(user), since: since).map(Self.json))
        }
    }

    /// `/pathology/Images/startpredict|stoppredict/<image_unique_id>`: the seed's
    /// `{success, status, image}`; a start while running, or a stop of nothing, is 409 with
    /// `success: false`.
    func addPathologyAnalysisRoutes(_ api: inout APIRouter) {
        let service = self.service
        api.get("/Images/startpredict/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user)
            do {
                let queued = try service.startAnalysis(image, userId: user.id)
                return .json(["success": true, "status": "Analysis queued (run \(queued.predictRun))", "image": self.json(queued, r)])
            } catch NodeError.conflict(let message) {
                return .json(["success": false, "status": message, "image": self.json(image, r)], status: .conflict)
            }
        }
        api.get("/Images/stoppredict/{ref}") { r, user in
            let image = try self.image(try r.parameters.require("ref"), user)
            do {
                let (stopped, ended) = try service.stopAnalysis(image, userId: user.id)
                return .json(["success": true, "status": ended ? "Stopped" : "Stopping", "image": self.json(stopped, r)])
            } catch NodeError.conflict(let message) {
                return .json(["success": false, "status": message, "image": self.json(image, r)], status: .conflict)
            }
        }
    }
}
