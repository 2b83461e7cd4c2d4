import SwiftletSDK

/// `fix_nated_sdp(flags[, ip])`: Kamailio's SDP edits for NAT, as lumps on the body.
struct SDPRewrite {
    /// `nortpproxy_str` without its line end ("" = none).
    let noRTPProxyLine: String
    /// `append_sdp_oldmediaip`: note each replaced address in an `a=oldmediaip:` line.
    let appendOldMediaIP: Bool

    static let addDirection = 0x01, fixMediaIP = 0x02, addNoRTPProxy = 0x04, fixOriginIP = 0x08

    /// The SDP of the message: the body if it is `application/sdp`, else the first SDP part
    /// of a multipart body (Kamailio's `extract_body`).
    static func sdpRange(_ msg: SIPMessage) -> Range<Int>? {
        guard let ct = try? msg.contentType(), !msg.bodyRange.isEmpty else { return nil }
        if ct.isType(msg.buffer, "application", "sdp") { return msg.bodyRange }
        guard let parts = try? msg.bodyParts() else { return nil }
        return parts.first { (try? $0.contentType(msg.buffer))?.isType(msg.buffer, "application", "sdp") == true }?
            .content
    }

    /// The lines of `range` (without their line ends).
    static func lines(_ b: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = range.lowerBound
        var i = start
        while i < range.upperBound {
            if b[i] == UInt8(ascii: "\n") {
                let end = i > start && b[i - 1] == UInt8(ascii: "\r") ? i - 1 : i
                out.append(start..<end)
                start = i + 1
            }
            i += 1
        }
        if start < range.upperBound { out.append(start..<range.upperBound) }
        return out
    }

    func run(_ ctx: MessageContext, flags: Int, ip: String?) -> Int {
        let msg = ctx.message
        guard let body = Self.sdpRange(msg) else {
            Log.error("nathelper", "cannot extract body from msg!")
            return -1
        }
        let b = msg.buffer
        let lines = Self.lines(b, body)
        // Where lines are appended: the end of the last line (before the body's last line end).
        let appendAt = lines.last.map(\.upperBound) ?? body.upperBound
        var appended: [String] = []
        if flags & Self.addDirection != 0 {
            let mLines = lines.enumerated().filter { b.text($0.element).hasPrefix("m=") }.map(\.offset)
            for n in mLines.indices {
                // Before the next m= line, or at the end for the last one.
                if n + 1 < mLines.count {
                    ctx.edits.insert(Array("\r\na=direction:active".utf8), at: lines[mLines[n + 1] - 1].upperBound)
                } else {
                    appended.append("a=direction:active")
                }
            }
        }
        if flags & Self.addNoRTPProxy != 0, !noRTPProxyLine.isEmpty { appended.append(noRTPProxyLine) }
        var count = 0
        if flags & (Self.fixMediaIP | Self.fixOriginIP) != 0 {
            let newIP = (ip?.isEmpty == false ? ip : nil) ?? ctx.receive.sourceIP
            var kinds: [(prefix: String, canOmit: Bool)] = [("a=rtcp", true)]
            if flags & Self.fixMediaIP != 0 { kinds.append(("c=", false)) }
            if flags & Self.fixOriginIP != 0 { kinds.append(("o=", false)) }
            for kind in kinds {
                guard let n = replace(ctx, lines, kind.prefix, canOmit: kind.canOmit, newIP, &appended) else {
                    return -1
                }
                count += n
            }
        }
        for line in appended { ctx.edits.insert(Array("\r\n\(line)".utf8), at: appendAt) }
        return count > 0 ? 1 : 2
    }

    /// Replaces the address after `IP4`/`IP6` in each line starting with `prefix`; nil on
    /// a line without one (unless `canOmit`) or with mixed address families.
    private func replace(
        _ ctx: MessageContext, _ lines: [Range<Int>], _ prefix: String, canOmit: Bool, _ newIP: String,
        _ appended: inout [String]
    ) -> Int? {
        let b = ctx.message.buffer
        var family: String? = nil
        var count = 0
        for line in lines where b.text(line).hasPrefix(prefix) {
            guard let (pf, address) = Self.mediaIP(b, line) else {
                if canOmit { continue }
                Log.error("nathelper", "no `IP[4|6]' in `\(prefix)' field")
                return nil
            }
            if let family, family != pf {
                Log.error("nathelper", "mismatching address families in '\(prefix)' SDP")
                return nil
            }
            family = pf
            let old = b.text(address)
            let isNull = pf == "IP6" ? old.allSatisfy { $0 == "0" || $0 == ":" } : old == "0.0.0.0"
            if isNull || old == newIP { continue }
            if appendOldMediaIP { appended.append((pf == "IP6" ? "a=oldmediaip6:" : "a=oldmediaip:") + old) }
            ctx.edits.replace(address, with: Array(newIP.utf8))
            count += 1
        }
        return count
    }

    /// Kamailio's `nh_extract_mediaip`: the family token and the address after it.
    static func mediaIP(_ b: [UInt8], _ line: Range<Int>) -> (String, Range<Int>)? {
        var tokens: [Range<Int>] = []
        var i = line.lowerBound
        while i < line.upperBound {
            while i < line.upperBound, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
            let start = i
            while i < line.upperBound, b[i] != UInt8(ascii: " "), b[i] != UInt8(ascii: "\t") { i += 1 }
            if i > start { tokens.append(start..<i) }
        }
        for (n, t) in tokens.enumerated() where n + 1 < tokens.count {
            let text = b.text(t)
            if text == "IP4" || text == "IP6" { return (text, tokens[n + 1]) }
        }
        return nil
    }
}
