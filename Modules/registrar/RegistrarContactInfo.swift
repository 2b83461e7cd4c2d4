import SwiftletSDK

/// How a Contact of a REGISTER matches the stored ones (Kamailio's `get_ucontact` results).
enum ContactMatch {
    case found(Int)
    case notFound
    /// An older CSeq (or the same one after `cseq_delay`): the REGISTER is refused.
    case invalid
    /// The same CSeq within `cseq_delay`: a retransmission, skipped.
    case skip
}

extension RegistrarModule {
    /// Kamailio's `pack_ci` with the message: Call-ID, CSeq, socket, connection, User-Agent,
    /// Path, flags.
    func commonInfo(_ ctx: MessageContext, _ req: RegisterRequest, flags: SaveFlags, now: Int) throws(RegistrarFailure)
        -> CommonContactInfo
    {
        let msg = ctx.message
        var callID = ""
        if let r = msg.callIDRange {
            var end = r.upperBound
            while end > r.lowerBound, RegisterRequest.isSpace(msg.buffer[end - 1]) { end -= 1 }
            callID = String(decoding: msg.buffer[r.lowerBound..<end], as: UTF8.self)
        }
        guard callID.utf8.count <= 255 else { throw RegistrarFailure(.callIDTooLong) }
        let ua = msg.firstHeader(.userAgent).map { msg.value(of: $0) } ?? ""
        let connectionID: Int
        switch ctx.receive.proto {
        case .udp: connectionID = -1
        default: connectionID = ctx.receive.connectionID ?? -1
        }
        // Made in place (a template copied into each contact).
        var common = CommonContactInfo(
            template: UsrlocContact(
                address: "", expires: 0, callID: callID, cseq: Int(req.cseq),
                flags: flags.contains(.memoryOnly) ? UsrlocContact.memoryOnlyFlag : 0,
                cflags: UInt32(truncatingIfNeeded: ctx.branchFlags),
                socket: ctx.receive.socket.map { RegistrarThreadState.current.socketString($0) } ?? "",
                userAgent: !ua.isEmpty && ua.utf8.count < 255 ? ua : "n/a", connectionID: connectionID,
                lastModified: now))
        if settings.usePath {
            let (path, received) = try pathVector(msg)
            if !path.isEmpty {
                common.template.path = path
                if settings.pathMode != 0 { RegistrarThreadState.current.path = path }
            }
            if !received.isEmpty {
                common.pathReceived = received
                common.template.cflags |= UInt32(truncatingIfNeeded: usrloc.natFlagMask)
            }
        }
        return common
    }

    /// Kamailio's `build_path_vector`: every Path value joined with ",", the first URI a loose
    /// router; with `path_use_received`, its `received` parameter unescaped.
    func pathVector(_ msg: SIPMessage) throws(RegistrarFailure) -> (path: String, received: String) {
        let values = msg.headers(.path).map { msg.value(of: $0) }
        guard !values.isEmpty else { return ("", "") }
        let path = values.joined(separator: ",")
        guard path.utf8.count < 1024, let first = (try? msg.nameAddrs(.path))?.first,
            let uri = SIPURI(msg.buffer.text(first.uri))
        else {
            Log.error("registrar", "failed to parse Path body")
            throw RegistrarFailure(.pathParse)
        }
        guard uri.parameters.contains(where: { $0.name.lowercased() == "lr" }) else {
            Log.error("registrar", "first Path URI is not a loose-router, not supported")
            throw RegistrarFailure(.pathParse)
        }
        var received = ""
        if settings.pathUseReceived, let r = uri.parameter("received") {
            guard let u = URIEscaping.unescape(r) else { throw RegistrarFailure(.pathParse) }
            received = u
        }
        return (path, received)
    }

    /// Kamailio's `pack_ci` for one Contact: address, q, expires, methods, received,
    /// instance, reg-id and a new ruid. `common` is only read; it is `inout` so that it is
    /// passed in place (a copy retains and releases each of its strings).
    func contactInfo(_ ctx: MessageContext, _ r: RequestContact, _ common: inout CommonContactInfo, expires: Int)
        throws(RegistrarFailure) -> UsrlocContact
    {
        var c = common.template
        c.address = r.uri
        c.q = try contactQ(ctx, r.q)
        c.expires = expires
        if let m = r.methods {
            guard let mask = MethodBits.mask(m) else { throw RegistrarFailure(.parse) }
            c.methods = mask
        } else {
            c.methods = allowedMethods(ctx.message)
        }
        if !common.pathReceived.isEmpty {
            c.received = common.pathReceived
        } else if let rcv = r.received {
            c.received = rcv
        } else if let avp = receivedAVP, case .string(let s) = avp.get(ctx), !s.isEmpty {
            guard s.utf8.count <= 255 else { throw RegistrarFailure(.contactTooLong) }
            c.received = s
        }
        if let i = r.instance, !i.isEmpty {
            c.instance = i
            if let g = r.regID, !g.isEmpty {
                guard let v = UInt32(g), v != 0 else {
                    Log.error("registrar", "invalid reg-id value")
                    throw RegistrarFailure(.invalidRegID)
                }
                c.regID = Int(v)
            }
        }
        c.ruid = usrloc.newRUID()
        return c
    }

    /// The methods of the Allow headers, all methods without one.
    func allowedMethods(_ msg: SIPMessage) -> UInt32 {
        let allow = msg.headers(.allow)
        guard !allow.isEmpty else { return UsrlocContact.allMethods }
        var mask: UInt32 = 0
        for h in allow { mask |= MethodBits.mask(msg.value(of: h)) ?? 0 }
        return mask
    }

    /// Kamailio's `get_ucontact_by_instance`/`get_ucontact` with usrloc's `matching_mode`.
    /// `cseqOffset` is added to the CSeq of `c` (a later Contact of the same REGISTER).
    func match(_ contacts: [UsrlocContact], uri: String, _ c: UsrlocContact, cseqOffset: Int = 0, now: Int)
        -> ContactMatch
    {
        if !c.instance.isEmpty {
            let want = Self.bareInstance(c.instance)
            if let i = contacts.firstIndex(where: {
                !$0.instance.isEmpty && $0.regID == c.regID && Self.bareInstance($0.instance) == want
            }) {
                return .found(i)
            }
            return .notFound
        }
        let index: Int?
        var checkCallID = true
        switch usrloc.matchingMode {
        case 1:
            index = contacts.firstIndex { $0.address == uri && $0.callID == c.callID }
            checkCallID = false
        case 2:
            index = contacts.firstIndex { $0.address == uri && (c.path.isEmpty || $0.path == c.path) }
        case 3:
            index = contacts.firstIndex { $0.callID == c.callID }
        default:
            index = contacts.firstIndex { $0.address == uri }
        }
        guard let i = index else { return .notFound }
        let old = contacts[i]
        if !checkCallID || old.callID == c.callID {
            let cseq = c.cseq + cseqOffset
            if cseq < old.cseq { return .invalid }
            if cseq == old.cseq { return old.lastModified + usrloc.cseqDelay > now ? .skip : .invalid }
        }
        return .found(i)
    }

    /// An instance without its `<` `>`.
    static func bareInstance(_ s: String) -> Substring {
        if s.count >= 2, s.hasPrefix("<"), s.hasSuffix(">") { return s.dropFirst().dropLast() }
        return Substring(s)
    }
}
