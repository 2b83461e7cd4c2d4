import SwiftletSDK

/// The ng requests of the script functions (Kamailio's `rtpp_function_call` and the
/// offer/answer/delete/query/manage wrappers).
struct RtpengineCalls {
    let selection: EngineSelection
    let sets: SetChoice

    /// Kamailio's messages that make it try the next instance.
    static let retryErrors: Set<String> = ["Parallel session limit reached", "Ran out of ports"]

    /// The SDP body range of the message (Kamailio's `extract_body`).
    static func sdpRange(_ msg: SIPMessage) -> Range<Int>? {
        guard let ct = try? msg.contentType(), !msg.bodyRange.isEmpty else { return nil }
        if ct.isType(msg.buffer, "application", "sdp") { return msg.bodyRange }
        guard let parts = try? msg.bodyParts() else { return nil }
        return parts.first { (try? $0.contentType(msg.buffer))?.isType(msg.buffer, "application", "sdp") == true }?
            .content
    }

    /// Sends `op` for the message to `set` (with `sdp` instead of the message's, for the
    /// second engine of two sets); the reply dictionary when its result is `ok`.
    func call(
        _ ctx: MessageContext, _ op: NGOperation, flags text: String?, set: EngineSet?, sdp body: [UInt8]? = nil
    ) -> (reply: Bencode, sdp: Range<Int>?)? {
        let msg = ctx.message
        var op = op
        guard let callIDHeader = msg.callID, !callIDHeader.isEmpty else {
            Log.error("rtpengine", "can't get Call-Id field")
            return nil
        }
        guard let fromTagHeader = msg.fromTag, !fromTagHeader.isEmpty else {
            Log.error("rtpengine", "can't get From tag")
            return nil
        }
        var members: [(String, Bencode)] = [("supports", .list([.text("load limit")]))]
        var sdp: Range<Int>? = nil
        let media = op == .offer || op == .answer
        if media {
            guard let r = Self.sdpRange(msg) else {
                Log.error("rtpengine", "can't extract body from the message")
                return nil
            }
            sdp = r
            members.append(("sdp", .string(body ?? Array(msg.buffer[r]))))
        }
        var f: NGFlags
        do {
            f = try NGFlags(text, op: &op)
        } catch {
            Log.error("rtpengine", error.description)
            return nil
        }
        f.to = f.to || op != .delete
        let callID = f.callID ?? callIDHeader
        let fromTag = f.fromTag ?? fromTagHeader
        let toTag = f.toTag ?? msg.toTag
        members += f.members
        members += media ? f.listMembers : f.listMembers.filter { $0.0 == "flags" }
        members.append(("call-id", .text(callID)))
        var branch = ""
        if f.via != 0 {
            var via = f.via
            if via == 3 { via = msg.isRequest ? 1 : 2 }
            guard via == 1 || via == 2, let vias = try? msg.vias(), vias.count >= via,
                let b = vias[via - 1].branch?.value
            else {
                Log.error("rtpengine", "can't get Via branch/extra ID")
                return nil
            }
            branch = msg.buffer.text(b)
            members.append(("via-branch", .text(branch)))
        }
        let family = ctx.receive.sourceIP.contains(":") ? "IP6" : "IP4"
        members.append(("received-from", .list([.text(family), .text(ctx.receive.sourceIP)])))
        if (msg.isRequest && op != .answer) || (!msg.isRequest && (op == .delete || op == .answer)) || f.directional {
            members.append(("from-tag", .text(fromTag)))
            if f.to, let toTag, !toTag.isEmpty { members.append(("to-tag", .text(toTag))) }
        } else {
            guard let toTag, !toTag.isEmpty else {
                Log.error("rtpengine", "No to-tag present")
                return nil
            }
            members.append(("from-tag", .text(toTag)))
            members.append(("to-tag", .text(fromTag)))
        }
        members.append(("command", .text(op.rawValue)))
        guard let reply = send(.dictionary(members), set: set, callID: callID, branch: branch) else {
            return nil
        }
        if op == .delete { selection.calls.remove(callID, branch) }
        guard reply["result"]?.stringValue == "ok" else {
            Log.error("rtpengine", "proxy didn't return \"ok\" result")
            return nil
        }
        return (reply, sdp)
    }

    /// Tries instances of `set` until one answers (not `load limit` or an out-of-resources error).
    func send(_ command: Bencode, set: EngineSet?, callID: String, branch: String) -> Bencode? {
        guard let set = set ?? selection.set(selection.defaultSetID) else {
            Log.error("rtpengine", "script error - no valid set selected")
            return nil
        }
        var queried: [EngineNode] = []
        while true {
            guard queried.count < selection.settings.queriedNodesLimit else {
                Log.error("rtpengine", "queried nodes limit reached")
                return nil
            }
            guard let node = selection.select(set, callID: callID, branch: branch, queried: queried) else {
                Log.error("rtpengine", "no available proxies")
                return nil
            }
            queried.append(node)
            guard let bytes = selection.client.send(command, to: node) else {
                if !node.isPermanentlyDisabled { selection.disable(node) }
                continue
            }
            guard let reply = Bencode.decode(bytes), let result = reply["result"]?.stringValue else {
                Log.error(
                    "rtpengine", "failed to decode bencoded reply from proxy: \(String(decoding: bytes, as: UTF8.self))"
                )
                return nil
            }
            if result == "load limit" {
                Log.info("rtpengine", "proxy \(node.url) has reached its load limit - trying next one")
                continue
            }
            if result == "error" {
                let reason = reply["error-reason"]?.stringValue ?? ""
                if Self.retryErrors.contains(reason) {
                    Log.warning("rtpengine", "proxy \(node.url): \(reason)")
                    continue
                }
                Log.error("rtpengine", "proxy replied with error: \(reason)")
                return nil
            }
            if selection.calls.node(callID, branch, now: selection.clock()) == nil {
                selection.calls.insert(
                    callID, branch, node: node.index, expires: selection.clock() + selection.settings.hashTableTimeout)
            }
            return reply
        }
    }

    /// `rtpengine_offer`/`rtpengine_answer`: the SDP of the reply replaces the body. With two
    /// sets the first engine's SDP goes to the second, whose SDP goes into the message
    /// (answers through the sets in the other order).
    func offerAnswer(_ ctx: MessageContext, _ op: NGOperation, flags: String?) -> Int {
        var sdp: [UInt8]? = nil
        var range: Range<Int>? = nil
        for set in sets.sets(ctx, direction: op == .answer ? 2 : 1) {
            guard let result = call(ctx, op, flags: flags, set: set, sdp: sdp), let r = result.sdp else { return -1 }
            guard case .string(let body)? = result.reply["sdp"] else {
                Log.error("rtpengine", "failed to extract sdp body from proxy reply")
                return -1
            }
            sdp = body
            range = r
        }
        guard let sdp, let range else { return -1 }
        ctx.edits.replace(range, with: sdp)
        return 1
    }

    /// `rtpengine_delete`, `rtpengine_query`, `start_recording`, `stop_recording`: to each
    /// chosen set.
    func simple(_ ctx: MessageContext, _ op: NGOperation, flags: String?) -> Int {
        for set in sets.sets(ctx, direction: 1) where call(ctx, op, flags: flags, set: set) == nil { return -1 }
        return 1
    }

    /// `rtpengine_manage`: offer, answer or delete by the method, the direction and the SDP.
    func manage(_ ctx: MessageContext, flags: String?) -> Int {
        if ctx.routeType == .branchFailure { return 1 }
        let msg = ctx.message
        guard let cseq = try? msg.cseq() else {
            Log.error("rtpengine", "no CSEQ header")
            return -1
        }
        let method = msg.buffer.text(cseq.methodRange).uppercased()
        guard ["INVITE", "ACK", "CANCEL", "BYE", "UPDATE", "PRACK"].contains(method) else { return -1 }
        if method == "CANCEL" || method == "BYE" { return simple(ctx, .delete, flags: flags) }
        let hasSDP = (try? msg.sdp()) != nil
        if msg.isRequest {
            if method == "ACK" || method == "PRACK", hasSDP { return offerAnswer(ctx, .answer, flags: flags) }
            if method == "UPDATE", hasSDP { return offerAnswer(ctx, .offer, flags: flags) }
            if method == "INVITE", hasSDP {
                if ctx.routeType == .failure { return simple(ctx, .delete, flags: flags) }
                sets.markOffer(msg)
                return offerAnswer(ctx, .offer, flags: flags)
            }
        } else {
            if (msg.statusCode ?? 0) >= 300 { return simple(ctx, .delete, flags: flags) }
            if hasSDP {
                if method == "UPDATE" || sets.offerWasInRequest(msg) { return offerAnswer(ctx, .answer, flags: flags) }
                return offerAnswer(ctx, .offer, flags: flags)
            }
        }
        return -1
    }

    /// `$rtpstat`: the totals of a `query`.
    func statistics(_ ctx: MessageContext) -> String? {
        guard let result = call(ctx, .query, flags: nil, set: sets.sets(ctx, direction: 1).first ?? nil),
            let totals = result.reply["totals"],
            let rtp = totals["RTP"], let rtcp = totals["RTCP"]
        else { return nil }
        func n(_ d: Bencode, _ k: String) -> Int { d[k]?.intValue ?? -1 }
        return "RTP: \(n(rtp, "bytes")) bytes, \(n(rtp, "packets")) packets, \(n(rtp, "errors")) errors; "
            + "RTCP: \(n(rtcp, "bytes")) bytes, \(n(rtcp, "packets")) packets, \(n(rtcp, "errors")) errors"
    }
}
